import { describe, expect, it } from 'vitest';
import { encodeUpdate } from '../quant/codec';
import { createAggregator } from './spec';
import { stalenessDiscount } from './staleness';

const N = 1000;
const update = (scale: number) => Float32Array.from({ length: N }, (_, i) => scale * Math.sin(i + scale));
const frame = (scale: number) => encodeUpdate(update(scale), { bits: 32, round: 1 });

function expectMean(got: Float32Array, want: (i: number) => number): void {
  for (let i = 0; i < N; i++) expect(Math.abs(got[i] - want(i))).toBeLessThan(1e-5);
}

describe('createAggregator', () => {
  it('builds FedAvg: the weighted mean of the updates', () => {
    const agg = createAggregator({ rule: 'fedavg' }, { length: N });
    expect(agg.rule).toBe('fedavg');
    expect(agg.length).toBe(N);
    [1, 2, 3].forEach((s, k) => agg.add(frame(s), k + 1));
    expectMean(agg.finish(), (i) => (1 * update(1)[i] + 2 * update(2)[i] + 3 * update(3)[i]) / 6);
    expect(agg.count).toBe(3);
    expect(agg.totalWeight).toBe(6);
  });

  it('FedNova averages per step and scales by the effective step count; with equal steps it is FedAvg', () => {
    const nova = createAggregator({ rule: 'fednova' }, { length: N });
    nova.add(frame(1), 1, { steps: 1 });
    nova.add(frame(2), 3, { steps: 4 });
    const tauEff = (1 * 1 + 3 * 4) / 4;
    expectMean(nova.finish(), (i) => (tauEff * (1 * update(1)[i] + (3 * update(2)[i]) / 4)) / 4);

    const equalNova = createAggregator({ rule: 'fednova' }, { length: N });
    const avg = createAggregator({ rule: 'fedavg' }, { length: N });
    for (const [s, w] of [[1, 2], [2, 5]]) {
      equalNova.add(frame(s), w, { steps: 7 });
      avg.add(frame(s), w, { steps: 7 });
    }
    const want = avg.finish();
    expectMean(equalNova.finish(), (i) => want[i]);
  });

  it('FedAvg ignores step counts; both discount a stale update by 1/sqrt(1+s) without changing the normaliser', () => {
    expect(stalenessDiscount(3)).toBe(0.5);
    expect(stalenessDiscount(0)).toBe(1);
    for (const rule of ['fedavg', 'fednova'] as const) {
      const agg = createAggregator({ rule }, { length: N });
      agg.add(frame(1), 1, { steps: 2 });
      agg.add(frame(2), 1, { steps: 2, staleness: 3 });
      expectMean(agg.finish(), (i) => (update(1)[i] + 0.5 * update(2)[i]) / 2);
    }
    const steeper = createAggregator({ rule: 'fedavg', stalenessExponent: 1 }, { length: N });
    steeper.add(frame(2), 1, { staleness: 3 });
    expectMean(steeper.finish(), (i) => 0.25 * update(2)[i]);
  });

  it('a refused update (bad steps, staleness or frame) changes nothing', () => {
    const agg = createAggregator({ rule: 'fednova' }, { length: N });
    agg.add(frame(1), 2, { steps: 3 });
    expect(() => agg.add(frame(2), 1, { steps: 0 })).toThrow(/local steps 0/);
    expect(() => agg.add(frame(2), 1, { steps: 1.5 })).toThrow(RangeError);
    expect(() => agg.add(frame(2), 1, { staleness: -1 })).toThrow(/staleness -1/);
    expect(() => agg.add(frame(2).subarray(0, 100), 1, { steps: 1 })).toThrow();
    expect(agg.count).toBe(1);
    expect(agg.totalWeight).toBe(2);
    expectMean(agg.finish(), (i) => update(1)[i]);
  });

  it('passes the clip norm through, and leaves clipping off by default', () => {
    const big = frame(10);
    expect(createAggregator({ rule: 'fedavg' }, { length: N }).add(big, 1).clipFactor).toBe(1);
    expect(createAggregator({ rule: 'fedavg' }, { length: N, clipNorm: null }).describe()).toMatchObject({ clipNorm: null });
    const clipped = createAggregator({ rule: 'fedavg' }, { length: N, clipNorm: 1 });
    expect(clipped.add(big, 1).clipFactor).toBeLessThan(1);
    expect(clipped.describe()).toMatchObject({ rule: 'fedavg', clipNorm: 1, stalenessExponent: 0.5 });
  });

  it('refuses an unknown rule or an extra field, naming it', () => {
    expect(() => createAggregator({ rule: 'krum' } as never, { length: N })).toThrow(/rule/);
    expect(() => createAggregator({ rule: 'fedavg', trim: 0.1 } as never, { length: N })).toThrow(/trim/);
  });
});
