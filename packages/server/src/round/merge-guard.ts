// What stands between accepted updates and the global model besides the per-update checks in
// open-round.ts: a norm bound on every update (clipping, on by default, relative to the model), and
// a last check that the merged result is finite before it is applied. A device that uploads values
// up to 3.4e38 moves the model by at most the bound; a merge that would still leave a non-finite
// weight (the bound switched off) is dropped and the global model stays as it was.
import { randomBytes } from 'node:crypto';
import { GaussianNoiseAggregator, Rng, createAggregator, hash32, normalFrom, type Aggregator } from '@fedbit/core';
import type { RoundContext } from './context';

/** The smallest bound, so a model with (near) zero weights can still train. */
const MIN_BOUND = 1;

/** The L2 norm every update of the next merge is clipped to, or null when no bound is configured. */
export function updateNormBound(global: Float32Array, clipNorm: number | null, ratio: number | null): number | null {
  let bound = clipNorm ?? Infinity;
  if (ratio !== null) {
    let sq = 0;
    for (let i = 0; i < global.length; i++) sq += global[i] * global[i];
    bound = Math.min(bound, Math.max(MIN_BOUND, ratio * Math.sqrt(sq)));
  }
  return Number.isFinite(bound) ? bound : null;
}

/** A fresh aggregator for the next round or version, with the bound computed from the model it trains. */
export function roundAggregator(ctx: RoundContext): Aggregator {
  const { config, run } = ctx;
  const length = updateLength(ctx);
  const privacy = config.privacy;
  const rule = createAggregator(config.aggregation, {
    length,
    clipNorm: roundClipNorm(ctx),
    ordered: config.reproducible && config.mode === 'sync',
    kernel: ctx.mergeKernel,
  });
  if (!privacy) return rule;
  // The noise must be unpredictable to devices: drawn from the OS, or from the run's seed when the run asks to be reproducible.
  const seed = config.reproducible ? hash32(`${config.seed}:noise:${run.completed + 1}`) : randomBytes(4).readUInt32LE(0);
  const uniform = new Rng(seed);
  return new GaussianNoiseAggregator(rule, { clipNorm: privacy.clipNorm, noiseMultiplier: privacy.noiseMultiplier, normal: normalFrom(() => uniform.nextFloat()) });
}

/**
 * Values in every update: split learning's devices upload their front only (the first deviceSize
 * weights, SplitFedV2); with copies of the back (SplitFedV1) every update is made whole before the merge.
 */
function updateLength(ctx: RoundContext): number {
  return ctx.split && !ctx.split.copies ? ctx.split.plan.deviceSize : ctx.host.paramCount;
}

/** The norm every update of the next merge is clipped to (the bound relative to the model it trains, and privacy's), or null. */
export function roundClipNorm(ctx: RoundContext): number | null {
  const { config, run } = ctx;
  const bound = updateNormBound(run.global.subarray(0, updateLength(ctx)), config.clipNorm, config.maxUpdateNormRatio);
  return config.privacy ? Math.min(bound ?? Infinity, config.privacy.clipNorm) : bound;
}

/** Why global + mean cannot be applied (a weight would not be finite), or null when it can. */
export function mergeProblem(global: Float32Array, mean: Float32Array): string | null {
  for (let i = 0; i < global.length; i++) {
    const next = Math.fround(global[i] + mean[i]);
    if (!Number.isFinite(next)) return `the merged update would make weight ${i} ${next}; it was not applied`;
  }
  return null;
}
