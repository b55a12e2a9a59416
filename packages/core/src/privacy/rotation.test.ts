import { describe, expect, it } from 'vitest';
import { Rng } from '../random/xoshiro';
import { rotate, rotationBlock, unrotate, walshHadamard } from './rotation';

function randomVector(d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: d }, () => rng.nextFloat() * 2 - 1);
}

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i], 0);

describe('the randomized Walsh-Hadamard rotation (Kairouz et al. Algorithm 1, flattening)', () => {
  it('the normalized Walsh-Hadamard transform is orthonormal and its own inverse (to float error)', () => {
    // Its matrix for n = 8: H^T H = I.
    const n = 8;
    const columns = Array.from({ length: n }, (_, j) => {
      const e = new Float64Array(n);
      e[j] = 1;
      walshHadamard(e);
      return e;
    });
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(dot(columns[i], columns[j])).toBeCloseTo(i === j ? 1 : 0, 14);
    // H H x = x.
    const x = randomVector(4096, 1);
    const y = Float64Array.from(x);
    walshHadamard(y);
    expect(Math.abs(dot(y, y) - dot(x, x))).toBeLessThan(1e-9);
    walshHadamard(y);
    expect(Math.max(...y.map((v, i) => Math.abs(v - x[i])))).toBeLessThan(1e-12);
    expect(() => walshHadamard(new Float64Array(12))).toThrow(/power-of-two/);
  });

  it('the round\'s rotation is orthonormal at any length (d = 12 and 77,000: no padding) and unrotate undoes it', () => {
    expect(rotationBlock(12)).toBe(8);
    expect(rotationBlock(77_000)).toBe(65_536);
    // U^T U = I for d = 12 (a window [4, 12) overlapping [0, 8)).
    const d = 12;
    const columns = Array.from({ length: d }, (_, j) => {
      const e = new Float64Array(d);
      e[j] = 1;
      rotate(e, 42);
      return e;
    });
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(dot(columns[i], columns[j])).toBeCloseTo(i === j ? 1 : 0, 14);
    for (const length of [1, 12, 4096, 77_000]) {
      const x = randomVector(length, length);
      const y = Float64Array.from(x);
      rotate(y, 7);
      expect(Math.abs(dot(y, y) - dot(x, x)) / dot(x, x)).toBeLessThan(1e-12);
      if (length > 1) expect(y.some((v, i) => Math.abs(v - x[i]) > 1e-3)).toBe(true);
      unrotate(y, 7);
      expect(Math.max(...y.map((v, i) => Math.abs(v - x[i])))).toBeLessThan(1e-12);
    }
  });

  it('flattens a spike: one coordinate carrying the whole norm comes out spread, every coordinate within 8 / sqrt(B)', () => {
    const d = 77_000;
    const B = rotationBlock(d);
    for (const at of [0, 5_000, 70_000, d - 1]) {
      const x = new Float64Array(d);
      x[at] = 1;
      rotate(x, 3);
      const max = Math.max(...x.map(Math.abs));
      expect(max).toBeLessThan(8 / Math.sqrt(B));
      expect(max).toBeGreaterThan(0.5 / Math.sqrt(B));
    }
    // A different seed is a different rotation.
    const a = new Float64Array(d);
    const b = new Float64Array(d);
    a[9] = b[9] = 1;
    rotate(a, 1);
    rotate(b, 2);
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  });
});
