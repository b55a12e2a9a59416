import { describe, expect, it } from 'vitest';
import { decodeUpdate, encodeUpdate } from './codec';
import { createRng } from '../random/xoshiro';
import { blockScaleSq, updateStats, varianceBound } from './variance';

const BLOCK = 16;
const rng = createRng(2024);
const x = Float32Array.from({ length: 48 }, () => Math.fround(rng.nextFloat() * 2 - 1));
x[5] = 3; // an outlier: its block gets a coarse grid
x[20] = -0.25; // block 1's values then sit at various positions between levels

/** Exact per-element variance (x - l)(r - x) of stochastic rounding onto the block's grid. */
function exactVariance(bits: number): Float64Array {
  const top = 2 ** bits - 1;
  const v = new Float64Array(x.length);
  for (let start = 0; start < x.length; start += BLOCK) {
    let s = 0;
    for (let i = start; i < start + BLOCK; i++) s = Math.max(s, Math.abs(x[i]));
    const step = (2 * s) / top;
    for (let i = start; i < start + BLOCK; i++) {
      const u = (x[i] + s) / step;
      const p = Math.min(1, Math.max(0, u - Math.min(Math.floor(u), top - 1))); // float64 can put u an ulp past L
      v[i] = p * (1 - p) * step * step;
    }
  }
  return v;
}

describe('stochastic uniform quantization (QSGD)', () => {
  // 4000 independent encodings (different seeds) per precision. Each element's mean must be within
  // 5 standard errors, sqrt(var / K), of the true value (plus float32 rounding of the levels):
  // with 192 such checks a correct codec fails this with probability about 1e-4.
  const K = 4000;
  for (const bits of [1, 2, 4, 8] as const) {
    it(`is unbiased and within varianceBound at ${bits} bit(s)`, () => {
      const sum = new Float64Array(x.length);
      let sqErr = 0;
      for (let k = 0; k < K; k++) {
        const y = decodeUpdate(encodeUpdate(x, { bits, round: 0, blockSize: BLOCK, seed: 1000 * bits + k }));
        for (let i = 0; i < x.length; i++) {
          sum[i] += y[i];
          sqErr += (y[i] - x[i]) ** 2;
        }
      }
      const variance = exactVariance(bits);
      for (let i = 0; i < x.length; i++) {
        const se = Math.sqrt(variance[i] / K);
        expect(Math.abs(sum[i] / K - x[i])).toBeLessThanOrEqual(5 * se + 1e-6);
      }
      const expected = variance.reduce((a, v) => a + v, 0);
      const empirical = sqErr / K;
      // The empirical mean squared error matches the exact expectation (within 10%) ...
      expect(Math.abs(empirical - expected)).toBeLessThanOrEqual(0.1 * expected);
      // ... and both stay under the bound the policy uses, with and without max|x|.
      const stats = { ...updateStats(x), blockSize: BLOCK };
      expect(expected).toBeLessThanOrEqual(varianceBound(bits, stats));
      expect(empirical).toBeLessThanOrEqual(varianceBound(bits, stats));
      expect(varianceBound(bits, stats)).toBeLessThanOrEqual(varianceBound(bits, { ...stats, maxAbs: undefined }));
      // The real block scales give a bound that still holds and is tighter than max|x| (the outlier sits in one block).
      const tight = { ...stats, sumScaleSq: blockScaleSq(x, BLOCK) };
      // (at 1 bit the bound is exact, S - ||x||^2, so only float rounding separates the two)
      expect(expected).toBeLessThanOrEqual(varianceBound(bits, tight) * (1 + 1e-12));
      expect(varianceBound(bits, tight)).toBeLessThan(varianceBound(bits, stats));
    });
  }
});

describe('varianceBound', () => {
  const stats = { ...updateStats(x), blockSize: BLOCK };

  it('decreases with precision and is 0 for float32 and for a zero update', () => {
    const bounds = ([1, 2, 4, 8, 16, 32] as const).map((b) => varianceBound(b, stats));
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]).toBeLessThan(bounds[i - 1]);
    expect(bounds[5]).toBe(0);
    expect(varianceBound(4, { length: 10, normSq: 0 })).toBe(0);
  });

  it('bounds the half rounding error, clamping included', () => {
    const big = Float32Array.from(x, (v, i) => (i === 7 ? 70000 : v * 1000));
    const y = decodeUpdate(encodeUpdate(big, { bits: 16, round: 0 }));
    const err = big.reduce((a, v, i) => a + (y[i] - v) ** 2, 0);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThanOrEqual(varianceBound(16, updateStats(big)));
  });

  it('is exact at 1 bit when every block scale is the global max', () => {
    // 1 bit: E||Q(x)-x||^2 = sum_b len_b s_b^2 - ||x||^2; with s_b = max|x| and the maxAbs term binding.
    const flat = new Float32Array([1, -1, 0.5, -1, 1, 0.25, -1, 0]);
    const s = updateStats(flat);
    expect(varianceBound(1, { ...s, blockSize: 4 })).toBeCloseTo(8 - s.normSq, 12);
  });
});

describe('updateStats', () => {
  it('returns length, squared norm and max |x|', () => {
    expect(updateStats(new Float32Array([3, -4, 0]))).toEqual({ length: 3, normSq: 25, maxAbs: 4 });
  });
});

describe('blockScaleSq', () => {
  it('sums len_b * max_b|x|^2 over blocks, the last one short, and lies between ||x||^2 and length * max|x|^2', () => {
    expect(blockScaleSq(Float32Array.from([1, -2, 0.5, 3, -1]), 2)).toBe(2 * 4 + 2 * 9 + 1 * 1);
    const { normSq, maxAbs, length } = updateStats(x);
    const s = blockScaleSq(x, BLOCK);
    expect(s).toBeGreaterThanOrEqual(normSq);
    expect(s).toBeLessThan(length * maxAbs * maxAbs);
    expect(blockScaleSq(x, x.length)).toBeCloseTo(length * maxAbs * maxAbs, 6);
    expect(() => blockScaleSq(x, 0)).toThrow(/blockSize must be a positive integer/);
  });
});
