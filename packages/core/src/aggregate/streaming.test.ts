import { describe, expect, it } from 'vitest';
import type { Bits } from '../bits';
import { decodeUpdate, encodeUpdate } from '../quant/codec';
import { FrameError, frameChecksum } from '../quant/frame';
import { createRng } from '../random/xoshiro';
import { NaiveAggregator } from './naive';
import { StreamingAggregator } from './streaming';

const N = 4099; // not a multiple of any block size or byte
const rng = createRng(99);
const updates = Array.from({ length: 7 }, (_, k) =>
  Float32Array.from({ length: N }, () => (rng.nextFloat() - 0.5) * 10 ** -(k % 4) * (1 + k)),
);
const BITS: Bits[] = [1, 2, 4, 8, 16, 32, 4];
const weights = [3, 0.5, 120, 7, 1e-3, 42, 9];
const frames = updates.map((u, k) => encodeUpdate(u, { bits: BITS[k], round: 3, blockSize: 200, seed: k }));

/**
 * The straightforward reference: decode each, weight, sum in float64, divide. Also returns, per
 * element, the mean of the terms' magnitudes: where terms cancel, a relative error can only be
 * asked of that, not of the (near-zero) result.
 */
function reference(list: Uint8Array[], w: number[], factors = w.map(() => 1)): { mean: Float64Array; magnitude: Float64Array } {
  const sum = new Float64Array(N);
  const magnitude = new Float64Array(N);
  let total = 0;
  list.forEach((f, k) => {
    const y = decodeUpdate(f);
    for (let i = 0; i < N; i++) {
      sum[i] += w[k] * factors[k] * y[i];
      magnitude[i] += Math.abs(w[k] * factors[k] * y[i]);
    }
    total += w[k];
  });
  return { mean: sum.map((v) => v / total), magnitude: magnitude.map((v) => v / total) };
}

/** Within 1e-6 relative: in L2 norm overall, and per element relative to the terms' magnitude. */
function expectClose(got: Float32Array, want: { mean: Float64Array; magnitude?: Float64Array }): void {
  const magnitude = want.magnitude ?? want.mean.map(Math.abs);
  let errSq = 0;
  let refSq = 0;
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const d = got[i] - want.mean[i];
    errSq += d * d;
    refSq += want.mean[i] ** 2;
    if (magnitude[i] > 0) worst = Math.max(worst, Math.abs(d) / magnitude[i]);
    else expect(got[i]).toBe(0);
  }
  expect(Math.sqrt(errSq / refSq)).toBeLessThanOrEqual(1e-6);
  expect(worst).toBeLessThanOrEqual(1e-6);
}

function corrupt(frame: Uint8Array, edit: (v: DataView) => void, reseal: boolean): Uint8Array {
  const copy = frame.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  if (reseal) view.setUint32(20, frameChecksum(copy), true);
  return copy;
}

describe('StreamingAggregator', () => {
  it('equals the float64 reference (decode, weight, sum, divide) within 1e-6 relative, at mixed precisions', () => {
    const agg = new StreamingAggregator(N);
    frames.forEach((f, k) => agg.add(f, weights[k]));
    expect(agg.count).toBe(7);
    expect(agg.totalWeight).toBeCloseTo(weights.reduce((a, b) => a + b, 0), 12);
    expectClose(agg.finish(), reference(frames, weights));
  });

  it('agrees with the naive decode-then-add path', () => {
    const agg = new StreamingAggregator(N);
    const naive = new NaiveAggregator(N);
    frames.forEach((f, k) => {
      agg.add(f, weights[k]);
      naive.add(f, weights[k]);
    });
    expectClose(agg.finish(), { mean: Float64Array.from(naive.finish()), magnitude: reference(frames, weights).magnitude });
  });

  it('a refused frame or weight changes nothing', () => {
    const bad: [string, Uint8Array, number][] = [
      ['flipped payload byte', corrupt(frames[2], (v) => v.setUint8(300, v.getUint8(300) ^ 1), false), 1],
      ['NaN scale in the last block', corrupt(frames[2], (v) => v.setFloat32(24 + 4 * 20, NaN, true), true), 1],
      ['Inf value at the end of a 32-bit frame', corrupt(frames[5], (v) => v.setFloat32(24 + 4 * (N - 1), Infinity, true), true), 1],
      ['wrong length', encodeUpdate(updates[0].subarray(1), { bits: 4, round: 3 }), 1],
      ['truncated', frames[3].subarray(0, frames[3].length - 1), 1],
      ['NaN weight', frames[0], NaN],
      ['zero weight', frames[0], 0],
      ['negative weight', frames[0], -2],
      ['infinite weight', frames[0], Infinity],
    ];
    const clean = new StreamingAggregator(N);
    clean.add(frames[0], weights[0]);
    clean.add(frames[1], weights[1]);
    const want = clean.finish();
    for (const [what, frame, weight] of bad) {
      const agg = new StreamingAggregator(N);
      agg.add(frames[0], weights[0]);
      expect(() => agg.add(frame, weight), what).toThrow(Number.isFinite(weight) && weight > 0 ? FrameError : RangeError);
      expect(agg.count, what).toBe(1);
      agg.add(frames[1], weights[1]);
      expect(agg.finish(), what).toEqual(want);
      expect(agg.totalWeight, what).toBe(clean.totalWeight);
    }
  });

  it('refuses frames for another round when told the round', () => {
    const agg = new StreamingAggregator(N, { expectRound: 4 });
    expect(() => agg.add(frames[0], 1)).toThrow(expect.objectContaining({ field: 'round' }));
  });

  it('clips each update to clipNorm using the norm of what was decoded', () => {
    const big = Float32Array.from({ length: N }, (_, i) => (i % 2 ? 3 : -4)); // norm 5 per pair
    for (const bits of [4, 32] as Bits[]) {
      const frame = encodeUpdate(big, { bits, round: 0, seed: 1 });
      const decoded = decodeUpdate(frame);
      const norm = Math.sqrt(decoded.reduce((a, v) => a + v * v, 0));
      const agg = new StreamingAggregator(N, { clipNorm: norm / 4 });
      const added = agg.add(frame, 2);
      expect(Math.abs(added.clipFactor - 0.25)).toBeLessThan(1e-6);
      expect(Math.abs(added.norm! - norm)).toBeLessThan(1e-6 * norm);
      const out = agg.finish();
      expect(Math.sqrt(out.reduce((a, v) => a + v * v, 0))).toBeCloseTo(norm / 4, 4);
      expectClose(out, { mean: Float64Array.from(decoded, (v) => v / 4) });
      // An update under the clip passes unchanged.
      const loose = new StreamingAggregator(N, { clipNorm: norm * 2 });
      expect(loose.add(frame, 1).clipFactor).toBe(1);
      expectClose(loose.finish(), { mean: Float64Array.from(decoded) });
    }
  });

  it('clipping composes with weights like the reference', () => {
    const clipNorm = 5;
    const agg = new StreamingAggregator(N, { clipNorm });
    const factors = frames.map((f) => {
      const y = decodeUpdate(f);
      const norm = Math.sqrt(y.reduce((a, v) => a + v * v, 0));
      return Math.min(1, clipNorm / norm);
    });
    expect(factors.some((c) => c < 1) && factors.some((c) => c === 1)).toBe(true);
    frames.forEach((f, k) => agg.add(f, weights[k]));
    expectClose(agg.finish(), reference(frames, weights, factors));
  });

  it('finish without updates throws; reset empties it', () => {
    const agg = new StreamingAggregator(N);
    expect(() => agg.finish()).toThrow(/no update/);
    agg.add(frames[0], 1);
    agg.reset();
    expect(agg.count).toBe(0);
    expect(agg.totalWeight).toBe(0);
    agg.add(frames[1], 1);
    expectClose(agg.finish(), reference([frames[1]], [1]));
    expect(() => new StreamingAggregator(N, { clipNorm: 0 })).toThrow(RangeError);
  });
});
