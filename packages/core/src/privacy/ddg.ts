// Client-level differential privacy that does not trust the aggregator: the distributed discrete
// Gaussian mechanism (Kairouz, Liu, Steinke, "The Distributed Discrete Gaussian Mechanism for
// Federated Learning with Secure Aggregation", ICML 2021, arXiv 2102.06387). Each device adds its
// share of the noise in the integer domain before masking, so the aggregator, which sees only the
// sum (packages/secagg), never sees an update without noise, and the sum carries noise of variance
// sigma^2 (in integer units) once at least minSenders devices send:
//   device  1. clip the update to L2 norm C (the privacy's clipNorm);
//           2. scale by 1/gamma and round each value stochastically to an integer, conditionally: redraw
//              the rounding until the integer vector's norm is at most delta2 (the paper's conditional
//              randomized rounding, its section 4.1 / Theorem 1, beta = exp(-1/2)), so the sum's
//              sensitivity is delta2 with certainty, not with high probability; plain stochastic
//              rounding would need the worst case C/gamma + sqrt(d), 25% more here;
//           3. add N_Z(0, localSigma^2) to each value (exact sampler: discrete-gaussian.ts), from the
//              platform's cryptographic source (the aggregator chose the task's seed: seeded noise
//              would be known to it);
//           4. send the values modulo 2^m; masking adds masks modulo 2^m on top (SecAgg+).
//   server  the sum modulo 2^m read as a signed integer in [-2^(m-1), 2^(m-1)), times gamma / senders.
// The paper's flattening (a random rotation, the Walsh-Hadamard transform with a shared seed) is left
// out: it spreads a vector's norm evenly so that the modulus can be sized for typical coordinates;
// without it the modulus must hold the worst case (one coordinate carrying the whole norm), which
// costs a few bits a value, not privacy. The rounding granularity gamma = min(C / (4 sqrt d),
// localSigmaFloat / 2): the first keeps rounding's norm (about sqrt(d) gamma / 2 = C / 8) small next
// to C, so delta2 is about 1.01 C / gamma; the second keeps each device's integer noise at least 2,
// where the paper's correction tau for summing discrete Gaussians is below 1e-15 (ddg-rdp.ts).
// The modulus: the sum of at most n devices' values lies in [-B, B] with B = n floor(delta2) + t,
// where t = sqrt(n) localSigma sqrt(2 ln(2 d / 1e-9)) bounds the summed noise in every coordinate
// except with probability 1e-9 (a discrete Gaussian of variance s^2 is s-subgaussian, Canonne et al.
// arXiv 2004.00010; a sum of such is subgaussian with the summed variance; a union bound over the d
// coordinates); m = ceil(log2(2B + 1)), refused above 32 (the masks' word).

import { sampleDiscreteGaussian, type Uniform } from './discrete-gaussian';

/** The paper's beta: the conditional rounding's bound holds for plain stochastic rounding with probability >= 1 - beta. */
export const DDG_BETA = Math.exp(-0.5);
/** Probability, per round, that some coordinate of the sum wraps around the modulus. */
export const DDG_WRAP_PROBABILITY = 1e-9;
/** The masks' word: at most 32 bits a value (packages/secagg). */
export const DDG_MAX_MODULUS_BITS = 32;

export interface DdgPlanInput {
  /** C: every update is clipped to this L2 norm (the privacy's clipNorm). */
  clipNorm: number;
  /** z: the summed noise's standard deviation is z C (in the update's units) once minSenders devices send. */
  noiseMultiplier: number;
  /** d: values per update. */
  length: number;
  /** Devices that may send at most (the round's selected devices): the modulus is sized for them. */
  maxSenders: number;
  /** Devices the noise is planned for: each adds 1 / minSenders of the variance; fewer may not be unmasked. */
  minSenders: number;
}

export interface DdgPlan {
  clipNorm: number;
  /** gamma: the update's units per integer step. */
  gamma: number;
  /** Each device's discrete Gaussian standard deviation, in integer steps. */
  localSigma: number;
  /** The integer vector's L2 bound after conditional rounding: the sum's sensitivity in integer steps. */
  delta2: number;
  length: number;
  minSenders: number;
  /** m: values travel and sum modulo 2^m. */
  modulusBits: number;
}

/** The squared L2 bound after conditional randomized rounding of a vector of norm c in d dimensions (Kairouz et al., Theorem 1 / Proposition 22). */
export function roundedNormBound(c: number, d: number, beta = DDG_BETA): number {
  const worst = c + Math.sqrt(d);
  const likely = Math.sqrt(c * c + d / 4 + Math.sqrt(2 * Math.log(1 / beta)) * (c + Math.sqrt(d) / 2));
  return Math.min(worst, likely);
}

/** The round's plan, from the run's privacy and the round's size; throws when the sum cannot fit 32-bit masks. */
export function planDdg(input: DdgPlanInput): DdgPlan {
  const { clipNorm: C, noiseMultiplier: z, length: d, maxSenders, minSenders } = input;
  if (!(C > 0 && Number.isFinite(C))) throw new RangeError(`clipNorm ${C} must be a positive finite number`);
  if (!(z > 0 && Number.isFinite(z))) throw new RangeError(`noiseMultiplier ${z} must be a positive finite number`);
  if (!(Number.isInteger(d) && d >= 1)) throw new RangeError(`length ${d} must be a positive integer`);
  if (!(Number.isInteger(minSenders) && minSenders >= 1 && Number.isInteger(maxSenders) && maxSenders >= minSenders)) {
    throw new RangeError(`minSenders ${minSenders} and maxSenders ${maxSenders} must be integers with 1 <= minSenders <= maxSenders`);
  }
  const localSigmaFloat = (z * C) / Math.sqrt(minSenders);
  const gamma = Math.min(C / (4 * Math.sqrt(d)), localSigmaFloat / 2);
  const localSigma = localSigmaFloat / gamma;
  const delta2 = roundedNormBound(C / gamma, d);
  const tail = Math.sqrt(maxSenders) * localSigma * Math.sqrt(2 * Math.log((2 * d) / DDG_WRAP_PROBABILITY));
  const bound = maxSenders * Math.floor(delta2) + Math.ceil(tail);
  const modulusBits = Math.ceil(Math.log2(2 * bound + 1));
  if (modulusBits > DDG_MAX_MODULUS_BITS) {
    throw new RangeError(
      `the distributed noise needs ${modulusBits}-bit masks (the sum of ${maxSenders} devices' ${d} values, each clipped and noised, reaches ${bound} integer steps); at most ${DDG_MAX_MODULUS_BITS} are supported: lower devicesPerRound or noiseMultiplier`,
    );
  }
  return { clipNorm: C, gamma, localSigma, delta2, length: d, minSenders, modulusBits };
}

/**
 * A device's noisy update on the integers, modulo 2^m: clipped to C, scaled by 1/gamma, rounded
 * conditionally (norm at most delta2), plus N_Z(0, localSigma^2) per value. `uniform` must be
 * cryptographic on a device.
 */
export function encodeDdg(update: Float32Array, plan: DdgPlan, uniform: Uniform): Uint32Array {
  if (update.length !== plan.length) throw new RangeError(`update has ${update.length} values; the plan is for ${plan.length}`);
  const d = update.length;
  let normSq = 0;
  const x = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    x[i] = Number.isFinite(update[i]) ? update[i] : 0;
    normSq += x[i] * x[i];
  }
  const scale = Math.min(1, plan.clipNorm / Math.sqrt(normSq || 1)) / plan.gamma;
  for (let i = 0; i < d; i++) x[i] *= scale;
  const z = new Int32Array(d);
  const limit = plan.delta2 * plan.delta2;
  // Each draw meets the bound with probability >= 1 - beta (about 0.39); in practice nearly always. If
  // 64 draws in a row miss (never seen), shrink by 10% and go on: the bound must hold for every vector.
  for (let tries = 0; ; tries++) {
    let sq = 0;
    for (let i = 0; i < d; i++) {
      const low = Math.floor(x[i]);
      z[i] = uniform() < x[i] - low ? low + 1 : low;
      sq += z[i] * z[i];
    }
    if (sq <= limit) break;
    if (tries % 64 === 63) for (let i = 0; i < d; i++) x[i] *= 0.9;
  }
  const modulus = 2 ** plan.modulusBits;
  const out = new Uint32Array(d);
  for (let i = 0; i < d; i++) {
    const v = z[i] + sampleDiscreteGaussian(plan.localSigma, uniform);
    out[i] = ((v % modulus) + modulus) % modulus;
  }
  return out;
}

/** The sum modulo 2^m as signed integers in [-2^(m-1), 2^(m-1)). */
export function signedSum(sum: ArrayLike<number>, modulusBits: number): Float64Array {
  const modulus = 2 ** modulusBits;
  const half = modulus / 2;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const v = sum[i] % modulus;
    out[i] = v >= half ? v - modulus : v;
  }
  return out;
}

/** The noisy mean update of `senders` devices from their sum modulo 2^m. */
export function decodeDdgMean(sum: ArrayLike<number>, senders: number, plan: DdgPlan): Float32Array {
  if (sum.length !== plan.length) throw new RangeError(`sum has ${sum.length} values; the plan is for ${plan.length}`);
  if (!(Number.isInteger(senders) && senders >= 1)) throw new RangeError(`senders ${senders} must be a positive integer`);
  const signed = signedSum(sum, plan.modulusBits);
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (signed[i] * plan.gamma) / senders;
  return out;
}
