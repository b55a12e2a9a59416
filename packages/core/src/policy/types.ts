// What every precision policy sees and returns. Policies are pure: the caller computes, per
// device and per allowed precision, the modelled energy and latency (../energy) and the frame
// bytes and variance bound (the codec), so a policy never touches the codec or the clock.
import type { Bits } from '../bits';

import type { Preference } from '../vocabulary';

export type { Preference };

/** What one device's update would cost and how noisy it would be at one precision. */
export interface PrecisionOption {
  /** Modelled round energy (compute + transmit), joules. */
  energyJ: number;
  /** Modelled round latency (compute + transmit), seconds. */
  latencyS: number;
  frameBytes: number;
  /** V_k(n): the codec's bound on E||Q(u_k) - u_k||^2 at this precision. */
  variance: number;
}

export interface DeviceDemand {
  id: string;
  /** Aggregation weight w_k (the round's weights sum to 1). */
  weight: number;
  /** 0..1, null = not reported. */
  battery: number | null;
  /** null = not reported. */
  charging: boolean | null;
  preference: Preference;
  /** The device's own floor / cap, if any. */
  minBits?: Bits;
  maxBits?: Bits;
  /** Estimate of ||update_k||^2 (last round's, or a prior). */
  updateNormSq: number;
  /** Per allowed precision; a precision without an entry is never assigned. */
  options: Partial<Record<Bits, PrecisionOption>>;
}

export interface PolicyContext {
  round: number;
  totalRounds: number;
  /** e.g. [1, 2, 4, 8, 16, 32]. */
  allowedBits: Bits[];
  /** Per-round latency deadline, seconds. */
  deadlineS: number;
  /** Global training loss per completed round, oldest first (AdaQuantFL, DAdaQuant). */
  lossHistory: number[];
  /**
   * This round's learning rate over the run's base rate (1 with a constant rate). On-demand
   * widens its error bound as the rate decays (roundErrorBound in ./on-demand).
   */
  learningRateScale?: number;
  /** Battery level below which a device that is not charging counts as low; default 0.2. */
  lowBatteryThreshold?: number;
}

export interface Assignment {
  bits: Bits;
  /** One line a person can read: why this precision. */
  reason: string;
  /** The chosen option's modelled energy, latency and V_k(n) (unweighted). */
  energyJ: number;
  latencyS: number;
  variance: number;
}

export interface PrecisionPolicy {
  readonly name: string;
  /** The policy's resolved parameters, to be written next to a run's results. */
  describe(): Record<string, unknown>;
  /** One assignment per device id. */
  assign(devices: DeviceDemand[], ctx: PolicyContext): Map<string, Assignment>;
}

export const DEFAULT_LOW_BATTERY_THRESHOLD = 0.2;
