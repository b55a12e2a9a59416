// Aggregation weights are checked once, the same way by every aggregator: a NaN or a negative
// weight would silently corrupt the mean.

export function assertWeight(weight: number): void {
  if (!Number.isFinite(weight) || weight <= 0) {
    throw new RangeError(`aggregation weight ${weight} refused: expected a finite number > 0 (e.g. the device's sample count)`);
  }
}
