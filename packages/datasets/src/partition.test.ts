import { describe, expect, it } from 'vitest';
import { holdout } from './holdout';
import { partition, type PartitionOptions } from './partition';
import type { ImageDataset } from './types';

// 2,000 images, 10 balanced classes, 4 groups: enough for the statistics below, no disk needed.
function synthetic(): ImageDataset {
  const count = 2000;
  return {
    name: 'emoji', width: 1, height: 1, channels: 1, count, pixels: new Uint8Array(count),
    labels: Int32Array.from({ length: count }, (_, i) => i % 10),
    groups: Int32Array.from({ length: count }, (_, i) => Math.floor(i / 7) % 4),
    groupNames: ['apple', 'google', 'twitter', 'facebook'],
  };
}

function expectExactCover(shards: Int32Array[], split: Int32Array): void {
  const seen = new Set<number>();
  let total = 0;
  for (const s of shards) for (const i of s) {
    expect(seen.has(i)).toBe(false);
    seen.add(i);
    total++;
  }
  expect(total).toBe(split.length);
  for (const i of split) expect(seen.has(i)).toBe(true);
}

function labelEntropy(ds: ImageDataset, shard: Int32Array): number {
  const counts = new Map<number, number>();
  for (const i of shard) counts.set(ds.labels[i], (counts.get(ds.labels[i]) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / shard.length) * Math.log(c / shard.length);
  return h;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('holdout', () => {
  it('is disjoint from train, covers the dataset and is deterministic', () => {
    const ds = synthetic();
    const a = holdout(ds, { seed: 0 });
    expect(a.eval.length).toBe(200);
    const train = new Set(a.train);
    for (const i of a.eval) expect(train.has(i)).toBe(false);
    expect(a.train.length + a.eval.length).toBe(ds.count);
    expect(holdout(ds, { seed: 0 })).toEqual(a);
    expect(holdout(ds, { seed: 1 }).eval).not.toEqual(a.eval);
    expect(holdout(ds, { seed: 0, evalCount: 50 }).eval.length).toBe(50);
    expect(holdout(ds, { seed: 0, evalFraction: 0.25 }).eval.length).toBe(500);
    expect(() => holdout(ds, { seed: 0, evalCount: 5000 })).toThrow(/evalCount/);
  });
});

describe('partition', () => {
  const ds = synthetic();
  const split = holdout(ds, { seed: 0 });
  const kinds: PartitionOptions[] = [
    { kind: 'iid', devices: 7, seed: 3, indices: split.train },
    { kind: 'dirichlet', devices: 7, alpha: 0.1, seed: 3, indices: split.train },
    { kind: 'dirichlet', devices: 50, alpha: 0.05, seed: 3, indices: split.train },
    { kind: 'vendor', devices: 3, seed: 3, indices: split.train },
    { kind: 'vendor', devices: 10, seed: 3, indices: split.train },
  ];
  for (const options of kinds) {
    it(`${options.kind} x${options.devices}: disjoint, exact cover of the split, deterministic by seed, no empty device`, () => {
      const shards = partition(ds, options);
      expect(shards.length).toBe(options.devices);
      expectExactCover(shards, split.train);
      for (const s of shards) expect(s.length).toBeGreaterThan(0);
      expect(partition(ds, options)).toEqual(shards);
      expect(partition(ds, { ...options, seed: 4 })).not.toEqual(shards);
    });
  }

  it('iid shards are near-equal', () => {
    const sizes = partition(ds, { kind: 'iid', devices: 7, seed: 1, indices: split.train }).map((s) => s.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('dirichlet with small alpha is label-skewed: lower per-device label entropy than iid', () => {
    const iid = partition(ds, { kind: 'iid', devices: 10, seed: 5, indices: split.train });
    const skewed = partition(ds, { kind: 'dirichlet', devices: 10, alpha: 0.1, seed: 5, indices: split.train });
    const hIid = mean(iid.map((s) => labelEntropy(ds, s)));
    const hSkew = mean(skewed.map((s) => labelEntropy(ds, s)));
    expect(hIid).toBeGreaterThan(0.95 * Math.log(10));
    expect(hSkew).toBeLessThan(0.6 * hIid);
    const wide = partition(ds, { kind: 'dirichlet', devices: 10, alpha: 100, seed: 5, indices: split.train });
    expect(mean(wide.map((s) => labelEntropy(ds, s)))).toBeGreaterThan(0.9 * hIid);
  });

  it('vendor: with devices >= groups every device holds one vendor only', () => {
    const shards = partition(ds, { kind: 'vendor', devices: 8, seed: 2, indices: split.train });
    shards.forEach((s, d) => {
      const groups = new Set(Array.from(s, (i) => ds.groups![i]));
      expect([...groups]).toEqual([d % 4]);
    });
  });

  it('explains what is wrong with bad options', () => {
    const { groups: _g, ...noGroups } = ds;
    expect(() => partition(noGroups, { kind: 'vendor', devices: 2, seed: 0 })).toThrow(/groups/);
    expect(() => partition(ds, { kind: 'dirichlet', devices: 2, alpha: 0, seed: 0 })).toThrow(/alpha/);
    expect(() => partition(ds, { kind: 'iid', devices: 0, seed: 0 })).toThrow(/devices/);
  });
});
