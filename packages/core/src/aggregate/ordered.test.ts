import { describe, expect, it } from 'vitest';
import { encodeUpdate } from '../quant/codec';
import { createAggregator } from './spec';

const N = 5000;
// Values of very different magnitudes, so float addition order shows in the last bits.
const update = (k: number) => Float32Array.from({ length: N }, (_, i) => Math.sin(i * (k + 1)) * 10 ** ((i + k) % 7 - 3));
const frames = [0, 1, 2, 3, 4, 5].map((k) => encodeUpdate(update(k), { bits: 32, round: 1 }));

function merge(order: number[], ordered: boolean): Float32Array {
  const agg = createAggregator({ rule: 'fedavg' }, { length: N, ordered });
  for (const k of order) agg.add(frames[k], 1 + k * 0.37, { order: k });
  return agg.finish();
}

describe('the ordered merge', () => {
  it('gives the same bits whatever order the updates arrive in', () => {
    const a = merge([0, 1, 2, 3, 4, 5], true);
    const b = merge([5, 3, 1, 0, 4, 2], true);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    // ...and the same mean as the streaming merge in seat order.
    expect(Buffer.from(merge([0, 1, 2, 3, 4, 5], false).buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('checks each update on arrival: a bad frame is refused at once and changes nothing', () => {
    const agg = createAggregator({ rule: 'fedavg' }, { length: N, ordered: true });
    agg.add(frames[0], 1, { order: 0 });
    expect(() => agg.add(frames[1].subarray(0, 50), 1, { order: 1 })).toThrow();
    expect(() => agg.add(frames[1], -1, { order: 1 })).toThrow(/weight/);
    expect(() => agg.add(frames[1], 1, { order: 1, steps: 0 })).toThrow(/local steps/);
    expect(agg.count).toBe(1);
    expect(agg.describe()).toMatchObject({ rule: 'fedavg', order: expect.stringContaining('seat') });
  });
});
