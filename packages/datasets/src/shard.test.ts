import { describe, expect, it } from 'vitest';
import { shardOf, shardPlan } from './shard';
import type { ImageDataset } from './types';

const dataset: ImageDataset = {
  name: 'mnist',
  count: 600,
  width: 4,
  height: 4,
  channels: 1,
  pixels: new Uint8Array(600 * 16),
  labels: Int32Array.from({ length: 600 }, (_, i) => i % 10),
};

const spec = { dataset: 'mnist', imageSize: 4, partition: 'dirichlet', alpha: 0.5, seed: 7, count: 5 } as const;

describe('shardOf', () => {
  it('is the plan the server computes, device by device, disjoint from the held-out split', () => {
    const plan = shardPlan(dataset, spec);
    const held = new Set(plan.eval);
    const seen = new Set<number>();
    for (let index = 0; index < spec.count; index++) {
      const mine = shardOf(dataset, { ...spec, index });
      expect(Array.from(mine)).toEqual(Array.from(plan.shards[index]));
      for (const i of mine) {
        expect(held.has(i)).toBe(false);
        expect(seen.has(i)).toBe(false);
        seen.add(i);
      }
    }
    expect(seen.size + held.size).toBe(dataset.count);
  });

  it('refuses a shard index outside the plan', () => {
    expect(() => shardOf(dataset, { ...spec, index: 5 })).toThrow(/shard 5 does not exist: expected 0 to 4/);
    expect(() => shardOf(dataset, { ...spec, index: -1 })).toThrow(RangeError);
  });
});
