import { describe, expect, it } from 'vitest';
import { groupIndices, shardOf, shardPlan } from './shard';
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

describe('groups', () => {
  const vendors: ImageDataset = { ...dataset, name: 'emoji', groups: Int32Array.from({ length: 600 }, (_, i) => i % 4), groupNames: ['apple', 'google', 'twitter', 'facebook'] };

  it('a plan with groups trains and holds out those groups only, and the vendor partition splits them by group', () => {
    const groups = groupIndices(vendors, ['twitter', 'facebook']);
    expect(groups).toEqual([2, 3]);
    const plan = shardPlan(vendors, { ...spec, dataset: 'emoji', partition: 'vendor', count: 2, groups });
    const all = shardPlan(vendors, { ...spec, dataset: 'emoji', partition: 'vendor', count: 2 });
    const groupOf = (i: number) => vendors.groups![i];
    expect(new Set(Array.from(plan.shards[0], groupOf))).toEqual(new Set([2]));
    expect(new Set(Array.from(plan.shards[1], groupOf))).toEqual(new Set([3]));
    // The held-out split is the same images as without groups, filtered.
    expect(Array.from(plan.eval)).toEqual(Array.from(all.eval).filter((i) => groupOf(i) >= 2));
  });

  it('an unknown group is refused naming the known ones', () => {
    expect(() => groupIndices(vendors, ['twitter', 'samsung'])).toThrow(/'samsung' is not a group of the emoji dataset; expected one of apple, google, twitter, facebook/);
    expect(() => shardPlan(dataset, { ...spec, groups: [0] })).toThrow(/the mnist dataset has no groups/);
  });
});
