import { describe, expect, it } from 'vitest';
import { decodeGridMean, encodeOnGrid, gridBitsOf, gridScales, type Grid } from './grid';

describe('the common grid of a secure round', () => {
  it('a b-bit level lands exactly on the B-bit grid and decodes to the same value', () => {
    const grid: Grid = { bits: 8, blockSize: 4, scales: [1, 0.5] };
    const levels4 = Float32Array.from([-1, -1 / 15, 1, 13 / 15, -0.5, 0.5, 0.5 / 3, 0]);
    const q = encodeOnGrid(levels4, grid, 4, 3);
    // 4-bit levels are reproduced exactly (no rounding left) except the last, between levels.
    expect(Array.from(decodeGridMean(q, 1, grid).subarray(0, 6))).toEqual(Array.from(Float32Array.from([-1, -1 / 15, 1, 13 / 15, -0.5, 0.5])));
    for (const v of q) expect(v % 17).toBe(0); // 255 / 15: every 4-bit level is a multiple of 17 on the 8-bit grid
  });

  it('devices at 2, 4 and 8 bits on one grid: the decoded mean is unbiased (statistically) and exact on the integer sum', () => {
    const length = 4096;
    const grid: Grid = { bits: 8, blockSize: 512, scales: gridScales(length, 512, 0.1) };
    const updates = [2, 4, 8].map((_, d) => Float32Array.from({ length }, (_, i) => 0.09 * Math.sin(i * 0.37 + d)));
    const exactMean = new Float64Array(length);
    updates.forEach((u) => u.forEach((v, i) => (exactMean[i] += v / 3)));
    const trials = 200;
    const avg = new Float64Array(length);
    for (let t = 0; t < trials; t++) {
      const sum = new Uint32Array(length);
      [2, 4, 8].forEach((bits, d) => encodeOnGrid(updates[d], grid, bits, t * 7 + d).forEach((q, i) => (sum[i] += q)));
      const mean = decodeGridMean(sum, 3, grid);
      // The decoded sum is the sum of the decoded inputs (the grid is linear): exact up to float32.
      const separate = [2, 4, 8].map((bits, d) => decodeGridMean(encodeOnGrid(updates[d], grid, bits, t * 7 + d), 1, grid));
      for (let i = 0; i < 64; i++) expect(mean[i]).toBeCloseTo((separate[0][i] + separate[1][i] + separate[2][i]) / 3, 6);
      mean.forEach((v, i) => (avg[i] += v / trials));
    }
    // Unbiased: the average error over trials shrinks like 1/sqrt(trials). The 2-bit device's step
    // is 2 * 0.1 / 3, so one draw's sd on the mean is at most 0.067 / 2 / 3; over 200 trials the
    // mean error's sd is below 0.0008 per value. Averaged over 4,096 values, bias would show at once.
    let meanError = 0;
    let worst = 0;
    for (let i = 0; i < length; i++) {
      meanError += (avg[i] - exactMean[i]) / length;
      worst = Math.max(worst, Math.abs(avg[i] - exactMean[i]));
    }
    expect(Math.abs(meanError)).toBeLessThan(1e-4);
    expect(worst).toBeLessThan(6 * 0.0008);
  });

  it('clips to the scale, and tightens scales from the last mean update', () => {
    const grid: Grid = { bits: 4, blockSize: 2, scales: [0.1] };
    expect(Array.from(decodeGridMean(encodeOnGrid(Float32Array.from([5, -5]), grid, 4, 1), 1, grid))).toEqual([Math.fround(0.1), Math.fround(-0.1)]);
    const scales = gridScales(4, 2, 1, Float32Array.from([0.01, -0.02, 0, 0]), 4);
    expect(Array.from(scales)).toEqual([Math.fround(0.08), Math.fround(1 / 256)]);
    expect(gridBitsOf([2, 8, 4])).toBe(8);
    expect(() => gridBitsOf([4, 32])).toThrow(/takes precisions/);
    expect(() => encodeOnGrid(new Float32Array(2), grid, 8, 1)).toThrow(/at most the grid/);
  });
});
