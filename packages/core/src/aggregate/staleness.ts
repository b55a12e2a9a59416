// The staleness discount of buffered asynchronous aggregation (FedBuff: Nguyen, Malik, Zhan,
// Yousefpour, Rabbat, Malek, Huba, "Federated Learning with Buffered Asynchronous Aggregation",
// AISTATS 2022, arXiv 2106.06639). An update trained from model version v and merged into version
// v' was trained s = v' - 1 - v versions ago; it counts 1 / (1 + s)^exponent as much, exponent 0.5
// by default (the paper's 1/sqrt(1 + s)). The discount scales the update, not its weight in the
// normaliser, so a buffer of stale updates moves the model less, as in the paper's Algorithm 1.

export const DEFAULT_STALENESS_EXPONENT = 0.5;

export function stalenessDiscount(staleness: number, exponent = DEFAULT_STALENESS_EXPONENT): number {
  if (!(Number.isInteger(staleness) && staleness >= 0)) throw new RangeError(`staleness ${staleness} refused: expected an integer >= 0 (model versions since the update's base)`);
  return (1 + staleness) ** -exponent;
}
