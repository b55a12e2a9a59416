import { describe, expect, it } from 'vitest';
import { encodeUpdate } from '../quant/codec';
import { createAggregator } from './spec';
import { StreamingAggregator } from './streaming';

const N = 1000;
const update = (scale: number) => Float32Array.from({ length: N }, (_, i) => scale * Math.sin(i + scale));

describe('createAggregator', () => {
  it('builds FedAvg that gives the weighted mean, as the streaming aggregator does', () => {
    const agg = createAggregator({ rule: 'fedavg' }, { length: N });
    expect(agg.rule).toBe('fedavg');
    expect(agg.length).toBe(N);
    const frames = [1, 2, 3].map((s) => encodeUpdate(update(s), { bits: 32, round: 1 }));
    frames.forEach((f, k) => agg.add(f, k + 1));
    const mean = agg.finish();
    const want = Float64Array.from({ length: N }, (_, i) => (1 * update(1)[i] + 2 * update(2)[i] + 3 * update(3)[i]) / 6);
    for (let i = 0; i < N; i++) expect(Math.abs(mean[i] - want[i])).toBeLessThan(1e-6);
    expect(agg.count).toBe(3);
    expect(agg.totalWeight).toBe(6);
  });

  it('passes the clip norm through, and leaves clipping off by default', () => {
    const frame = encodeUpdate(update(10), { bits: 32, round: 1 });
    expect(createAggregator({ rule: 'fedavg' }, { length: N }).add(frame, 1).clipFactor).toBe(1);
    expect(createAggregator({ rule: 'fedavg' }, { length: N, clipNorm: null }).describe()).toMatchObject({ clipNorm: null });
    const clipped = createAggregator({ rule: 'fedavg' }, { length: N, clipNorm: 1 });
    expect(clipped).toBeInstanceOf(StreamingAggregator);
    expect(clipped.add(frame, 1).clipFactor).toBeLessThan(1);
    expect(clipped.describe()).toMatchObject({ rule: 'fedavg', clipNorm: 1 });
  });

  it('refuses an unknown rule or an extra field, naming it', () => {
    expect(() => createAggregator({ rule: 'krum' } as never, { length: N })).toThrow(/rule/);
    expect(() => createAggregator({ rule: 'fedavg', trim: 0.1 } as never, { length: N })).toThrow(/trim/);
  });
});
