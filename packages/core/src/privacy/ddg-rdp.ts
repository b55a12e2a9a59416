// The accountant of the distributed discrete Gaussian (ddg.ts): Rényi DP of the sum of n devices'
// discrete Gaussian noise, by Kairouz, Liu, Steinke, "The Distributed Discrete Gaussian Mechanism for
// Federated Learning with Secure Aggregation", ICML 2021, arXiv 2102.06387, Theorem 1 with
// Proposition 14 (their equation 17): with each device's noise N_Z(0, s^2) per coordinate, n senders,
// d coordinates, sensitivities delta2 (L2) and delta1 (L1) in integer steps,
//   tau   = 10 sum_{k=1..n-1} exp(-2 pi^2 s^2 k / (k + 1))       (how far a sum of discrete Gaussians
//                                                               is from one discrete Gaussian)
//   l2    = delta2 / (s sqrt n),  l1 = delta1 / (s sqrt n),  delta1 = delta2 min(sqrt d, delta2)
//   RDP(alpha) = min( alpha l2^2 / 2 + tau d,
//                     alpha (l2^2 + 2 l1 tau + tau^2 d) / 2,
//                     alpha (l2 + tau sqrt d)^2 / 2 )
// With s >= 2 (ddg.ts sizes gamma for it) tau is below 1e-15 and this is the Gaussian mechanism's
// alpha l2^2 / 2. Adjacent runs differ in one device's update being replaced by zeros (the device still
// takes part and adds its noise): the paper's and secure aggregation's usual notion for client-level DP.
// Sampling: a device is in a round with probability q (selected / eligible, treated as Poisson, as the
// central accountant does, rdp.ts). Amplification by the general Poisson-subsampling bound of Zhu and
// Wang, "Poisson Subsampled Rényi Differential Privacy", ICML 2019 (PMLR 97, Theorem 5, the general upper bound), which needs
// only the RDP curve above:
//   RDP_q(alpha) <= log( (1-q)^(alpha-1) (alpha q - q + 1) + C(alpha,2) q^2 (1-q)^(alpha-2) e^RDP(2)
//                        + 3 sum_{l=3..alpha} C(alpha,l) (1-q)^(alpha-l) q^l e^((l-1) RDP(l)) ) / (alpha - 1)
// and never more than RDP(alpha) itself.
// Dropouts: the noise in the sum is that of the devices that actually sent, so each round is accounted
// with n = its senders, who are never fewer than the plan's minSenders (the aggregator abandons the
// round before unmasking, and each device refuses to reveal, when fewer sent).
import { RDP_ORDERS, logAdd, logBinomial } from './rdp';

export interface DdgRoundParams {
  /** Each device's discrete Gaussian standard deviation, in integer steps. */
  localSigma: number;
  /** L2 sensitivity of the integer sum (the conditional rounding's bound). */
  delta2: number;
  /** d: values per update. */
  length: number;
  /** n: devices whose noise is in the sum. */
  senders: number;
}

/** The paper's tau for n summed discrete Gaussians of standard deviation s. */
export function ddgTau(localSigma: number, senders: number): number {
  let tau = 0;
  for (let k = 1; k < senders; k++) tau += Math.exp(-2 * Math.PI * Math.PI * localSigma * localSigma * (k / (k + 1)));
  return 10 * tau;
}

/** RDP at order alpha of one round without sampling (Kairouz et al., Theorem 1 / Proposition 14). */
export function ddgRdp(p: DdgRoundParams, alpha: number): number {
  if (!(alpha > 1)) throw new RangeError(`order ${alpha} must be > 1`);
  if (!(p.localSigma > 0 && p.delta2 >= 0 && Number.isInteger(p.senders) && p.senders >= 1 && p.length >= 1)) {
    throw new RangeError(`localSigma ${p.localSigma}, delta2 ${p.delta2}, senders ${p.senders} and length ${p.length} must be positive`);
  }
  const tau = ddgTau(p.localSigma, p.senders);
  const d = p.length;
  const sd = p.localSigma * Math.sqrt(p.senders);
  const l2 = p.delta2 / sd;
  const l1 = (p.delta2 * Math.min(Math.sqrt(d), p.delta2)) / sd;
  return Math.min((alpha * l2 * l2) / 2 + tau * d, (alpha * (l2 * l2 + 2 * l1 * tau + tau * tau * d)) / 2, (alpha * (l2 + tau * Math.sqrt(d)) ** 2) / 2);
}

/** Zhu and Wang's general upper bound on the RDP at integer order alpha of a mechanism with RDP curve `rdp`, Poisson-subsampled at rate q. */
export function poissonSubsampledRdp(q: number, alpha: number, rdp: (order: number) => number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling rate ${q} must be in [0, 1]`);
  if (!(Number.isInteger(alpha) && alpha >= 2)) throw new RangeError(`order ${alpha} must be an integer >= 2`);
  if (q === 0) return 0;
  const whole = rdp(alpha);
  if (q === 1) return whole;
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  let logA = (alpha - 1) * l1q + Math.log(alpha * q - q + 1);
  logA = logAdd(logA, logBinomial(alpha, 2) + 2 * lq + (alpha - 2) * l1q + rdp(2));
  for (let l = 3; l <= alpha; l++) logA = logAdd(logA, Math.log(3) + logBinomial(alpha, l) + (alpha - l) * l1q + l * lq + (l - 1) * rdp(l));
  return Math.min(whole, logA / (alpha - 1));
}

/** RDP of one round at every tracked order (RDP_ORDERS), sampling rate q. */
export function ddgRoundRdp(q: number, p: DdgRoundParams): number[] {
  const cache = new Map<number, number>();
  const rdp = (order: number): number => {
    let v = cache.get(order);
    if (v === undefined) cache.set(order, (v = ddgRdp(p, order)));
    return v;
  };
  return RDP_ORDERS.map((alpha) => poissonSubsampledRdp(q, alpha, rdp));
}
