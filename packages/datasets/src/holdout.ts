// The held-out evaluation split: images no device trains on, and the FID-MNIST reference set.
// It depends only on the image count and the seed, so MNIST at 28, 16 and 14 px (same count,
// same order) shares one split, and a browser and the server compute the same one.
import { shuffle, uniform } from './rng';
import type { ImageDataset } from './types';

export interface HoldoutOptions {
  /** Images held out; wins over evalFraction. */
  evalCount?: number;
  /** Fraction held out when evalCount is not given. */
  evalFraction?: number;
  seed: number;
}

export interface Split {
  /** In a seeded random order. */
  train: Int32Array;
  /** In a seeded random order, so any prefix is a fair sample of the held-out set. */
  eval: Int32Array;
}

/** Default held-out size: 10% of the images, at most 1,000. */
export function defaultEvalCount(count: number): number {
  return Math.min(1000, Math.floor(count * 0.1));
}

export function holdout(ds: Pick<ImageDataset, 'count' | 'name'>, options: HoldoutOptions): Split {
  const { count } = ds;
  let evalCount: number;
  if (options.evalCount !== undefined) evalCount = options.evalCount;
  else if (options.evalFraction !== undefined) {
    if (!(options.evalFraction >= 0 && options.evalFraction <= 1)) throw new RangeError(`holdout: evalFraction must be in [0, 1], got ${options.evalFraction}`);
    evalCount = Math.round(count * options.evalFraction);
  } else evalCount = defaultEvalCount(count);
  if (!Number.isInteger(evalCount) || evalCount < 0 || evalCount > count) throw new RangeError(`holdout: evalCount must be an integer in 0..${count} for ${ds.name}, got ${evalCount}`);
  const order = shuffle(Int32Array.from({ length: count }, (_, i) => i), uniform(options.seed ^ 0x5eed));
  return { eval: order.slice(0, evalCount), train: order.slice(evalCount) };
}
