// Each device's keep ratio from its capacity (Zhang, Ni, Wang, arXiv 2412.06414: the device-side
// model is pruned by how much the device can compute; magnitude pruning, Han et al., arXiv
// 1506.02626, in ./prune.ts). The server picks it per device and round: the share of its part's
// MACs that fit in the time the plan gives it, after the per-step link time that pruning does not
// shrink, and after its demand (a device that asks to save battery, or is low and not charging,
// spends a smaller share of that time computing). Within the run's [minKeepRatio, keepRatio].
import { DEFAULT_LOW_BATTERY_THRESHOLD } from '../policy/types';
import { batteryIsLow } from '../policy/common';
import type { Preference } from '../vocabulary';
import { keepRatioFor } from './prune';

/**
 * Share of its training time a device spends computing when it asks to save battery, and again
 * when its battery is low and it is not charging (both: a quarter). Our choice, not the paper's:
 * the paper prunes by compute capability alone; here the person's demand counts too, as the
 * on-demand policy lets it count for the precision (docs/SPLIT.md).
 */
export const SAVE_BATTERY_SHARE = 0.5;

export interface DeviceDemandState {
  battery: number | null;
  charging: boolean | null;
  preference: Preference;
}

/** The share of its training time this device's demand lets it spend computing, in (0, 1]. */
export function demandShare(device: DeviceDemandState, lowBatteryThreshold = DEFAULT_LOW_BATTERY_THRESHOLD): number {
  let share = 1;
  if (device.preference === 'save-battery') share *= SAVE_BATTERY_SHARE;
  if (batteryIsLow(device, lowBatteryThreshold)) share *= SAVE_BATTERY_SHARE;
  return share;
}

export interface KeepRatioInput {
  /** The device's training throughput, MAC/s: measured where known, else its profile's or its class's. */
  macsPerSecond: number;
  /** MACs of one split step of the unpruned device part (forward + backward: core's splitMacsPerStep at keep 1). */
  fullMacsPerStep: number;
  steps: number;
  /** Seconds of training the plan gives the device this round. */
  budgetS: number;
  /** Seconds per step spent sending activations and receiving gradients (not shrunk by pruning). */
  linkSPerStep: number;
  /** demandShare of the device. */
  share: number;
  /** The run's bounds: minKeepRatio (or keepRatio) and keepRatio. */
  min: number;
  max: number;
}

/** The keep ratio that lets the device's steps fit: affordable MACs per step over the unpruned part's, within [min, max]. */
export function splitKeepRatio(input: KeepRatioInput): number {
  if (!(input.steps >= 1)) throw new RangeError(`steps must be >= 1, got ${input.steps}`);
  const computeSPerStep = Math.max(0, (input.budgetS * input.share) / input.steps - input.linkSPerStep);
  return Math.min(input.max, keepRatioFor(computeSPerStep * input.macsPerSecond, input.fullMacsPerStep, input.min));
}
