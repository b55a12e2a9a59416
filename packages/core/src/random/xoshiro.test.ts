import { describe, expect, it } from 'vitest';
import { createRng } from './xoshiro';

describe('createRng (xoshiro128**)', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
    expect(createRng(2 ** 32 + 5).nextUint32()).not.toBe(createRng(5).nextUint32());
  });

  it('fillUint32 continues the same stream as nextUint32', () => {
    const a = createRng(7);
    const b = createRng(7);
    const buf = new Uint32Array(100);
    a.fillUint32(buf, 60);
    for (let i = 0; i < 60; i++) expect(buf[i]).toBe(b.nextUint32());
    expect(a.nextUint32()).toBe(b.nextUint32());
  });

  it('is uniform enough: mean and bucket counts of 100,000 floats', () => {
    const rng = createRng(1);
    const buckets = new Array<number>(10).fill(0);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = rng.nextFloat();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      buckets[Math.floor(u * 10)]++;
    }
    expect(outside).toBe(0);
    // sd of the mean: sqrt(1/12 / 1e5) ~ 0.0009; of a bucket count: sqrt(1e5 * 0.09) ~ 95.
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.0045);
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(475);
  });
});
