// Sizes and timeouts both sides must agree on, named once with why.

/** The uplink probe a device sends at join, so the aggregator has a measured rate before round 1. */
export const PROBE_LIMITS = Object.freeze({
  /** Below a kilobyte, the time is all latency and says nothing of the rate. */
  minBytes: 1024,
  /** A quarter of a full-precision update frame, capped so that joining stays cheap on a phone link. */
  updateFraction: 1 / 4,
  maxBytes: 64 * 1024,
  /** The aggregator refuses larger probes: an unjoined-looking flood must not buffer megabytes. */
  maxAcceptedBytes: 1 << 20,
});

/** Bytes of the probe for a model whose largest update frame is `maxUpdateBytes`. */
export function probeBytes(maxUpdateBytes: number): number {
  return Math.max(PROBE_LIMITS.minBytes, Math.min(PROBE_LIMITS.maxBytes, Math.floor(maxUpdateBytes * PROBE_LIMITS.updateFraction)));
}

/** How long a device waits for an acknowledgement of join, probe or upload before it gives up. */
export const ACK_TIMEOUT_MS = 30_000;

/** Smoothing of measured link rates (both sides): half the weight on the newest transfer, so a
 * changed link shows within two or three transfers while one outlier moves the rate only by half. */
export const LINK_RATE_SMOOTHING = 0.5;
