import { describe, expect, it } from 'vitest';
import { encodeUpdate } from '../quant/codec';
import { createAggregator } from './spec';

const N = 64;
const honest = (k: number) => Float32Array.from({ length: N }, (_, i) => 0.01 * Math.sin(i + k));
const frame = (x: Float32Array) => encodeUpdate(x, { bits: 32, round: 1 });

describe('robust rules', () => {
  it('the coordinate-wise median ignores a minority sending anything; FedAvg does not', () => {
    const attack = Float32Array.from({ length: N }, () => 1e6);
    const median = createAggregator({ rule: 'median' }, { length: N });
    const avg = createAggregator({ rule: 'fedavg' }, { length: N });
    for (const x of [honest(1), honest(2), honest(3), attack, attack]) {
      median.add(frame(x), 1);
      avg.add(frame(x), 1);
    }
    const got = median.finish();
    for (let i = 0; i < N; i++) {
      const sorted = [honest(1)[i], honest(2)[i], honest(3)[i]].sort((a, b) => a - b);
      expect(got[i]).toBeCloseTo(sorted[2], 6); // of 5 values with two at 1e6, the middle is the largest honest one
    }
    expect(Math.max(...avg.finish())).toBeGreaterThan(1e5);
  });

  it('the median of an even count is the mean of the two middle values; weights do not enter it', () => {
    const agg = createAggregator({ rule: 'median' }, { length: 1 });
    for (const [v, w] of [[1, 100], [2, 1], [3, 1], [10, 1]]) agg.add(frame(Float32Array.of(v)), w);
    expect(agg.finish()[0]).toBe(2.5);
    expect(agg.totalWeight).toBe(103);
  });

  it('the trimmed mean cuts floor(trim * n) values at each end of each coordinate', () => {
    const agg = createAggregator({ rule: 'trimmed-mean', trim: 0.2 }, { length: 2 });
    for (const v of [-100, 1, 2, 3, 100]) agg.add(frame(Float32Array.of(v, -v)), 1);
    expect(Array.from(agg.finish())).toEqual([2, -2]);
    const none = createAggregator({ rule: 'trimmed-mean', trim: 0.2 }, { length: 1 });
    for (const v of [1, 5]) none.add(frame(Float32Array.of(v)), 1); // floor(0.4) = 0: the plain mean
    expect(none.finish()[0]).toBe(3);
    expect(() => createAggregator({ rule: 'trimmed-mean', trim: 0.5 }, { length: 1 })).toThrow(/trim/);
  });

  it('clips and discounts each update before the statistic, and a refused frame changes nothing', () => {
    const agg = createAggregator({ rule: 'median' }, { length: 1, clipNorm: 1 });
    agg.add(frame(Float32Array.of(50)), 1);
    agg.add(frame(Float32Array.of(0.5)), 1, { staleness: 3 }); // 0.5 * 1/sqrt(4) = 0.25
    expect(() => agg.add(frame(Float32Array.of(1)).subarray(0, 10), 1)).toThrow();
    expect(agg.count).toBe(2);
    expect(agg.finish()[0]).toBeCloseTo((1 + 0.25) / 2, 6);
  });
});
