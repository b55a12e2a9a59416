// How a training split is dealt out to devices. Every partitioner is deterministic in its seed
// and returns disjoint index lists that together cover the split exactly.
//
// - iid: a seeded shuffle cut into near-equal shards.
// - dirichlet: label skew after "Measuring the Effects of Non-Identical Data Distribution for
//   Federated Visual Classification" (Hsu, Qi, Brown 2019, arXiv 1909.06335). Hsu et al. draw
//   each device's class mix q ~ Dir(alpha * p); we use the per-class form common in FL code
//   (Yurochkin et al. 2019, arXiv 1905.12022): for every class, device shares ~ Dir(alpha), so
//   the split is exact. alpha -> 0: one class per device; alpha -> inf: IID. Default alpha 0.5.
// - vendor: by `groups` (emoji vendor), the natural non-IID split. With more devices than
//   groups, device d takes group d mod G and each group is shared evenly by its devices; with
//   fewer, a device holds several groups.
import type { PartitionKind } from '@fedbit/core';
import { dirichlet, shuffle, uniform } from './rng';
import type { ImageDataset } from './types';

export type { PartitionKind };

export interface PartitionOptions {
  kind: PartitionKind;
  devices: number;
  /** Dirichlet concentration; default 0.5. */
  alpha?: number;
  seed: number;
  /** Restrict to these indices (the training split); default all of the dataset. */
  indices?: Int32Array;
}

export const DEFAULT_DIRICHLET_ALPHA = 0.5;

function splitEven(indices: Int32Array, parts: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let p = 0; p < parts; p++) {
    out.push(indices.slice(Math.floor((p * indices.length) / parts), Math.floor(((p + 1) * indices.length) / parts)));
  }
  return out;
}

function allIndices(ds: ImageDataset, indices?: Int32Array): Int32Array {
  if (!indices) return Int32Array.from({ length: ds.count }, (_, i) => i);
  for (const i of indices) if (i < 0 || i >= ds.count) throw new RangeError(`partition: index ${i} is outside 0..${ds.count - 1} of ${ds.name}`);
  return Int32Array.from(indices);
}

export function partition(ds: ImageDataset, options: PartitionOptions): Int32Array[] {
  const { kind, devices, seed } = options;
  if (!Number.isInteger(devices) || devices < 1) throw new RangeError(`partition: devices must be a positive integer, got ${devices}`);
  const pool = allIndices(ds, options.indices);
  const rand = uniform(seed);
  switch (kind) {
    case 'iid':
      return splitEven(shuffle(pool, rand), devices);
    case 'dirichlet':
      return partitionDirichlet(ds, pool, devices, options.alpha ?? DEFAULT_DIRICHLET_ALPHA, rand);
    case 'vendor':
      return partitionByGroup(ds, pool, devices, rand);
    default: {
      const never: never = kind;
      throw new Error(`partition: unknown kind "${String(never)}"; expected iid, dirichlet or vendor`);
    }
  }
}

function partitionDirichlet(ds: ImageDataset, pool: Int32Array, devices: number, alpha: number, rand: () => number): Int32Array[] {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new RangeError(`partition: dirichlet alpha must be a positive number, got ${alpha}`);
  const byClass = new Map<number, number[]>();
  for (const i of pool) {
    const label = ds.labels[i];
    let list = byClass.get(label);
    if (!list) byClass.set(label, (list = []));
    list.push(i);
  }
  const shards: number[][] = Array.from({ length: devices }, () => []);
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = shuffle(byClass.get(label)!, rand);
    const shares = dirichlet(alpha, devices, rand);
    let cum = 0;
    let from = 0;
    for (let d = 0; d < devices; d++) {
      cum += shares[d];
      const to = d === devices - 1 ? members.length : Math.min(members.length, Math.round(cum * members.length));
      for (let k = from; k < to; k++) shards[d].push(members[k]);
      from = Math.max(from, to);
    }
  }
  // A device with nothing cannot train: give each empty one a sample from the largest shard.
  for (let d = 0; d < devices && pool.length >= devices; d++) {
    if (shards[d].length > 0) continue;
    let largest = 0;
    for (let e = 1; e < devices; e++) if (shards[e].length > shards[largest].length) largest = e;
    shards[d].push(shards[largest].pop()!);
  }
  return shards.map((s) => shuffle(Int32Array.from(s), rand));
}

function partitionByGroup(ds: ImageDataset, pool: Int32Array, devices: number, rand: () => number): Int32Array[] {
  if (!ds.groups) throw new Error(`partition: kind "vendor" needs per-image groups, and ${ds.name} has none; use "iid" or "dirichlet"`);
  let groupCount = ds.groupNames?.length ?? 0;
  for (const i of pool) groupCount = Math.max(groupCount, ds.groups[i] + 1);
  const byGroup: number[][] = Array.from({ length: groupCount }, () => []);
  for (const i of pool) byGroup[ds.groups[i]].push(i);
  const shards: number[][] = Array.from({ length: devices }, () => []);
  for (let g = 0; g < groupCount; g++) {
    const members = shuffle(byGroup[g], rand);
    const owners: number[] = [];
    if (devices >= groupCount) {
      for (let d = g; d < devices; d += groupCount) owners.push(d);
    } else {
      owners.push(g % devices);
    }
    for (let k = 0; k < owners.length; k++) {
      const from = Math.floor((k * members.length) / owners.length);
      const to = Math.floor(((k + 1) * members.length) / owners.length);
      for (let j = from; j < to; j++) shards[owners[k]].push(members[j]);
    }
  }
  return shards.map((s) => shuffle(Int32Array.from(s), rand));
}
