// Link rates measured from real transfers (a probe at join, then every upload and every model
// download), smoothed the same way on both sides: the aggregator's estimate feeds the energy model
// and the policy, the device's its own page. navigator.connection is only a hint (Chromium caps it at 10 Mbps).
import { LINK_RATE_SMOOTHING } from '../protocol/limits';

/** Exponentially weighted moving average; the first sample is taken as is, non-finite or non-positive ones are ignored. */
export class Ewma {
  value: number | null = null;
  constructor(private readonly alpha = LINK_RATE_SMOOTHING) {}
  add(sample: number): void {
    if (!Number.isFinite(sample) || sample <= 0) return;
    this.value = this.value === null ? sample : this.alpha * sample + (1 - this.alpha) * this.value;
  }
}

/** A transfer faster than 0.05 ms or 100 Gbit/s is a clock artefact, not a link. */
export const LINK_SAMPLE_LIMITS = Object.freeze({ minMs: 0.05, maxBps: 1e11 });

/** Bits per second of `bytes` sent in `ms`, within the plausible limits. */
export function linkRateBps(bytes: number, ms: number): number {
  const bps = (bytes * 8) / (Math.max(ms, LINK_SAMPLE_LIMITS.minMs) / 1000);
  return Math.min(bps, LINK_SAMPLE_LIMITS.maxBps);
}
