// FedAvg weights (McMahan et al., "Communication-Efficient Learning of Deep Networks from
// Decentralized Data", AISTATS 2017, arXiv 1602.05629): each device's update counts in proportion
// to the number of samples it trained on.

/** sampleCounts normalised to sum to 1. Throws if a count is negative or not finite, or all are 0. */
export function fedAvgWeights(sampleCounts: number[]): number[] {
  let total = 0;
  for (const [k, n] of sampleCounts.entries()) {
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`sample count ${k} is ${n}, expected a finite number >= 0`);
    total += n;
  }
  if (total <= 0) throw new RangeError('sample counts sum to 0; at least one device must have trained on data');
  return sampleCounts.map((n) => n / total);
}
