// FedNova: normalized averaging for devices that ran different numbers of local steps (Wang, Liu,
// Liang, Joshi, Poor, "Tackling the Objective Inconsistency Problem in Heterogeneous Federated
// Optimization", NeurIPS 2020, arXiv 2007.07481). Plain FedAvg over updates of unequal step counts
// drifts toward the devices that ran more steps; FedNova averages each device's update per step,
//   d_k = u_k / tau_k,
// then moves the global model by the weighted mean direction times the effective step count,
//   u = tau_eff * sum_k p_k d_k,   tau_eff = sum_k p_k tau_k,   p_k = w_k / sum_j w_j.
// With equal tau_k this is FedAvg exactly. (The paper's a_k for plain SGD is tau_k; devices here run
// Adam, for which tau_k is the usual stand-in.)

/** The factor d_k = u_k / tau_k applies to a device's update. */
export function fedNovaScale(steps: number): number {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`local steps ${steps} refused: FedNova needs an integer >= 1 (the steps this update was trained for)`);
  return 1 / steps;
}

/** tau_eff = sum_k w_k tau_k / sum_k w_k: the factor the mean of the d_k is multiplied by. */
export function fedNovaEffectiveSteps(weightedStepSum: number, weightSum: number): number {
  if (!(weightSum > 0)) throw new RangeError('no update was added, so there is no effective step count');
  return weightedStepSum / weightSum;
}
