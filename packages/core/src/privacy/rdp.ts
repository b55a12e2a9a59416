// The privacy accountant of client-level differential privacy: Rényi DP of the sampled Gaussian
// mechanism (Mironov, Talwar, Zhang, "Rényi Differential Privacy of the Sampled Gaussian
// Mechanism", arXiv 1908.10530, section 3.3, integer orders), composed over rounds by adding the
// RDP of each, and converted to (epsilon, delta) with Mironov's bound (Rényi Differential Privacy,
// CSF 2017, arXiv 1702.07476, proposition 3):
//   RDP(alpha) of one round, sampling rate q, noise multiplier sigma:
//     log A_alpha / (alpha - 1),  A_alpha = sum_{k=0..alpha} C(alpha,k) (1-q)^(alpha-k) q^k exp((k^2 - k) / (2 sigma^2))
//   epsilon(delta) = min over alpha of  RDP_total(alpha) + log(1/delta) / (alpha - 1)
// Computed in log space: exp((k^2 - k)/(2 sigma^2)) overflows for small sigma and large alpha.
// The guarantee is per device (client-level: one device's whole update is the unit protected),
// and assumes each device is in a round independently with probability q; the round's seeded
// choice of devicesPerRound of the eligible devices is sampling without replacement, which this
// treats as Poisson sampling at q = selected / eligible (the usual approximation, stated in docs).

/** The Rényi orders the accountant tracks. */
export const RDP_ORDERS: readonly number[] = [...Array.from({ length: 63 }, (_, i) => i + 2), 80, 96, 128, 192, 256, 512];

/** log(e^a + e^b), stable. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** log of the binomial coefficient (n choose k). */
export function logBinomial(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** RDP at integer order `alpha` of one round of the sampled Gaussian mechanism. */
export function sampledGaussianRdp(q: number, sigma: number, alpha: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling rate ${q} must be in [0, 1]`);
  if (!(sigma > 0)) throw new RangeError(`noise multiplier ${sigma} must be > 0`);
  if (!(Number.isInteger(alpha) && alpha >= 2)) throw new RangeError(`order ${alpha} must be an integer >= 2`);
  if (q === 0) return 0;
  if (q === 1) return alpha / (2 * sigma * sigma);
  let logA = -Infinity;
  for (let k = 0; k <= alpha; k++) {
    const term = logBinomial(alpha, k) + (alpha - k) * Math.log1p(-q) + k * Math.log(q) + (k * k - k) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA / (alpha - 1);
}

/** RDP of one round at every tracked order. */
export function roundRdp(q: number, sigma: number): number[] {
  return RDP_ORDERS.map((alpha) => sampledGaussianRdp(q, sigma, alpha));
}

/** Adds one round's RDP to the running total (in place), and returns it. */
export function composeRdp(total: number[], round: readonly number[]): number[] {
  for (let i = 0; i < RDP_ORDERS.length; i++) total[i] = (total[i] ?? 0) + round[i];
  return total;
}

/** The smallest epsilon for `delta` over the tracked orders, and the order that gives it. */
export function epsilonOf(total: readonly number[], delta: number): { epsilon: number; order: number } {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta ${delta} must be in (0, 1)`);
  let best = { epsilon: Infinity, order: RDP_ORDERS[0] };
  RDP_ORDERS.forEach((alpha, i) => {
    const epsilon = (total[i] ?? 0) + Math.log(1 / delta) / (alpha - 1);
    if (epsilon < best.epsilon) best = { epsilon, order: alpha };
  });
  return best;
}
