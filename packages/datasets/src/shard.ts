// The one shard plan both sides compute: the aggregator (for FedAvg weights and the evaluation
// split) and every device (for its own images). Same dataset, same ShardSpec, same shards: the
// held-out split first (seed 0, shared by every image size), then the partition of what is left.
import type { ShardSpec } from '@fedbit/core';
import { holdout } from './holdout';
import { partition } from './partition';
import type { ImageDataset } from './types';

/** The run's plan without a device's place in it. */
export type ShardPlanSpec = Omit<ShardSpec, 'index'>;

export interface ShardPlan {
  /** shards[k]: image indices of shard k, in the partition's order. */
  shards: Int32Array[];
  /** The held-out images no device trains on (the FID reference), in a seeded order. */
  eval: Int32Array;
}

/** The held-out seed is fixed, not the run's: MNIST at 28, 16 and 14 px share one held-out split. */
export const HOLDOUT_SEED = 0;

export function shardPlan(dataset: ImageDataset, spec: ShardPlanSpec): ShardPlan {
  const split = holdout(dataset, { seed: HOLDOUT_SEED });
  const keep = spec.groups ? inGroups(dataset, spec.groups) : null;
  const train = keep ? split.train.filter(keep) : split.train;
  const shards = partition(dataset, { kind: spec.partition, devices: spec.count, alpha: spec.alpha, seed: spec.seed, indices: train });
  return { shards, eval: keep ? split.eval.filter(keep) : split.eval };
}

/** A filter for images of the given groups (a run that trains on some emoji vendors only: the held-out split is filtered the same way, after it is drawn, so it stays the same images). */
function inGroups(dataset: ImageDataset, groups: readonly number[]): (i: number) => boolean {
  const of = dataset.groups;
  if (!of) throw new Error(`the ${dataset.name} dataset has no groups: a shard spec with groups needs one that has (emoji: its vendors)`);
  const wanted = new Set(groups);
  return (i) => wanted.has(of[i]);
}

/** This device's own images. Throws if the shard is out of range or empty. */
export function shardOf(dataset: ImageDataset, spec: ShardSpec): Int32Array {
  if (!(Number.isInteger(spec.index) && spec.index >= 0 && spec.index < spec.count)) {
    throw new RangeError(`shard ${spec.index} does not exist: expected 0 to ${spec.count - 1}`);
  }
  const mine = shardPlan(dataset, spec).shards[spec.index];
  if (!mine || mine.length === 0) throw new Error(`shard ${spec.index} of ${spec.count} is empty: the partition left this device no images`);
  return mine;
}

/** The indices of named groups (an emoji run's vendors) in the dataset's groupNames; throws naming an unknown one and the known ones. */
export function groupIndices(dataset: ImageDataset, names: readonly string[]): number[] {
  const known = dataset.groupNames ?? [];
  return names.map((name) => {
    const i = known.indexOf(name);
    if (i < 0) throw new Error(`dataset.groups: '${name}' is not a group of the ${dataset.name} dataset; expected ${known.length ? `one of ${known.join(', ')}` : 'none (it has no groups)'}`);
    return i;
  });
}
