// Dynamic magnitude pruning of the device-side model (Zhang, Ni, Wang, arXiv 2412.06414: the
// device part shrinks with the device's capacity; magnitude pruning, Han et al., arXiv 1506.02626):
// keep the largest |w| share `keepRatio` of the weights, zero the rest in training and in the
// upload. Recomputed from the current weights at every round start (hence dynamic).

/** 1 where kept. Ties at the threshold are kept in index order until the quota is met. */
export function magnitudeMask(weights: Float32Array, keepRatio: number): Uint8Array {
  if (!(keepRatio > 0 && keepRatio <= 1)) throw new RangeError(`keepRatio must be in (0, 1], got ${keepRatio}`);
  const mask = new Uint8Array(weights.length);
  const keep = Math.max(1, Math.round(keepRatio * weights.length));
  if (keep >= weights.length) return mask.fill(1);
  const mags = Float32Array.from(weights, Math.abs).sort();
  const threshold = mags[weights.length - keep];
  let above = 0;
  for (const w of weights) if (Math.abs(w) > threshold) above++;
  let ties = keep - above;
  for (let i = 0; i < weights.length; i++) {
    const m = Math.abs(weights[i]);
    if (m > threshold) mask[i] = 1;
    else if (m === threshold && ties > 0) {
      mask[i] = 1;
      ties--;
    }
  }
  return mask;
}

export function applyMask(weights: Float32Array, mask: Uint8Array): void {
  if (weights.length !== mask.length) throw new RangeError(`mask of ${mask.length} for ${weights.length} weights`);
  for (let i = 0; i < weights.length; i++) if (!mask[i]) weights[i] = 0;
}

/**
 * The keep ratio for a device from its speed (the "by capacity"): a device that can
 * afford `affordableMacs` of the `fullMacs` its part needs keeps that share, within [floor, 1].
 */
export function keepRatioFor(affordableMacs: number, fullMacs: number, floor = 0.25): number {
  if (!(fullMacs > 0)) return 1;
  return Math.min(1, Math.max(floor, affordableMacs / fullMacs));
}
