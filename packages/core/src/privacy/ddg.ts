// Client-level differential privacy that does not trust the aggregator: the distributed discrete
// Gaussian mechanism (Kairouz, Liu, Steinke, "The Distributed Discrete Gaussian Mechanism for
// Federated Learning with Secure Aggregation", ICML 2021, arXiv 2102.06387). Each device adds its
// share of the noise in the integer domain before masking, so the aggregator, which sees only the
// sum (packages/secagg), never sees an update without noise, and the sum carries noise of variance
// sigma^2 (in integer units) once at least minSenders devices send:
//   device  1. clip the update to L2 norm C (the privacy's clipNorm) and scale by 1/gamma;
//           2. flatten (the paper's Algorithm 1; rotation.ts): multiply by the round's random rotation
//              U = H D (signs from the plan's rotationSeed, then the Walsh-Hadamard transform), when
//              the plan has a seed;
//           3. round each value stochastically to an integer, conditionally: redraw the rounding until
//              the integer vector's norm is at most delta2 (the paper's conditional randomized
//              rounding, its section 4.1 / Theorem 1, beta = exp(-1/2)), so the sum's sensitivity is
//              delta2 with certainty, not with high probability; plain stochastic rounding would need
//              the worst case C/gamma + sqrt(d), 25% more here; U is orthonormal, so the bound and
//              the privacy are the same with or without it;
//           4. add N_Z(0, localSigma^2) to each value (exact sampler: discrete-gaussian.ts), from the
//              platform's cryptographic source (the aggregator chose the task's seed: seeded noise
//              would be known to it);
//           5. send the values modulo 2^m; masking adds masks modulo 2^m on top (SecAgg+).
//   server  the sum modulo 2^m read as a signed integer in [-2^(m-1), 2^(m-1)), times gamma / senders,
//           then U^T.
// A value of the sum outside [-2^(m-1), 2^(m-1)) wraps: it comes back off by a multiple of 2^m, and
// nothing on either side can tell (the aggregator sees only the sum modulo 2^m). The plan sizes m so
// that this happens with probability at most 1e-9 a round:
//   without rotation, the sum of at most n devices' values lies in [-B, B], B = n floor(delta2) + t,
//   for every vector (one coordinate may carry a device's whole norm), where t = sqrt(n) localSigma
//   sqrt(2 ln(2 d / 1e-9)) bounds the summed noise in every coordinate except with probability 1e-9 (a
//   discrete Gaussian of variance s^2 is s-subgaussian, Canonne et al. arXiv 2004.00010; a sum of
//   such is subgaussian with the summed variance; a union bound over the d coordinates);
//   with rotation, a coordinate of the rotated sum of n clipped vectors (norm at most n C / gamma) is
//   subgaussian with proxy (n C / gamma)^2 / Bl (Bl the transform's size, rotation.ts), independent of
//   the noise, and rounding moves it by less than n: B = n + sqrt(2 ln(2 d / 1e-9)) sqrt((n C /
//   gamma)^2 / Bl + n localSigma^2), the smaller of the two. The first term is what the rotation
//   removes: n floor(delta2), the worst case, becomes about n C / (gamma sqrt(Bl)) times 7.9.
// m = ceil(log2(2B + 1)), refused above 32 (the masks' word). The rounding granularity gamma = min(C /
// (4 sqrt d), localSigmaFloat / 2): the first keeps rounding's norm (about sqrt(d) gamma / 2 = C / 8)
// small next to C, so delta2 is about 1.01 C / gamma; the second keeps each device's integer noise at
// least 2, where the paper's correction tau for summing discrete Gaussians is below 1e-15
// (ddg-rdp.ts). Given a budget of m bits instead (modulusBits in the input), gamma is the finest that
// fits m: coarser than that rule when bits are short, which grows rounding's share of delta2 and so
// epsilon at the same noise (bench: apps/cli/src/bench/ddg-rotation.ts).

import { sampleDiscreteGaussian, type Uniform } from './discrete-gaussian';
import { rotate, rotationBlock, unrotate } from './rotation';

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
  /** The round's rotation (rotation.ts), an integer in [0, 2^32): the values are flattened and the modulus sized for that. Absent: no rotation. */
  rotationSeed?: number;
  /** A budget of m bits a value: gamma is then the finest whose sum fits it, instead of the default rule. */
  modulusBits?: number;
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
  /** The round's rotation (rotation.ts); absent: none. */
  rotationSeed?: number;
}

/** The squared L2 bound after conditional randomized rounding of a vector of norm c in d dimensions (Kairouz et al., Theorem 1 / Proposition 22). */
export function roundedNormBound(c: number, d: number, beta = DDG_BETA): number {
  const worst = c + Math.sqrt(d);
  const likely = Math.sqrt(c * c + d / 4 + Math.sqrt(2 * Math.log(1 / beta)) * (c + Math.sqrt(d) / 2));
  return Math.min(worst, likely);
}

/** B: the signed sum of n devices' values stays in [-B, B] except with probability DDG_WRAP_PROBABILITY (the file's head). */
export function ddgSumBound(p: { gamma: number; clipNorm: number; localSigma: number; delta2: number; length: number }, senders: number, rotated: boolean): number {
  const k = Math.sqrt(2 * Math.log((2 * p.length) / DDG_WRAP_PROBABILITY));
  const worst = senders * Math.floor(p.delta2) + Math.ceil(Math.sqrt(senders) * p.localSigma * k);
  if (!rotated) return worst;
  const c = p.clipNorm / p.gamma;
  const flat = senders + Math.ceil(k * Math.sqrt((senders * c) ** 2 / rotationBlock(p.length) + senders * p.localSigma ** 2));
  return Math.min(worst, flat);
}

/** The round's plan, from the run's privacy and the round's size; throws when the sum cannot fit 32-bit masks (or the given budget). */
export function planDdg(input: DdgPlanInput): DdgPlan {
  const { clipNorm: C, noiseMultiplier: z, length: d, maxSenders, minSenders, rotationSeed, modulusBits: budget } = input;
  if (!(C > 0 && Number.isFinite(C))) throw new RangeError(`clipNorm ${C} must be a positive finite number`);
  if (!(z > 0 && Number.isFinite(z))) throw new RangeError(`noiseMultiplier ${z} must be a positive finite number`);
  if (!(Number.isInteger(d) && d >= 1)) throw new RangeError(`length ${d} must be a positive integer`);
  if (!(Number.isInteger(minSenders) && minSenders >= 1 && Number.isInteger(maxSenders) && maxSenders >= minSenders)) {
    throw new RangeError(`minSenders ${minSenders} and maxSenders ${maxSenders} must be integers with 1 <= minSenders <= maxSenders`);
  }
  if (rotationSeed !== undefined && !(Number.isInteger(rotationSeed) && rotationSeed >= 0 && rotationSeed < 2 ** 32)) throw new RangeError(`rotationSeed ${rotationSeed} must be an integer in [0, 2^32)`);
  if (budget !== undefined && !(Number.isInteger(budget) && budget >= 2 && budget <= DDG_MAX_MODULUS_BITS)) throw new RangeError(`modulusBits ${budget} must be an integer from 2 to ${DDG_MAX_MODULUS_BITS}`);
  const rotated = rotationSeed !== undefined;
  const localSigmaFloat = (z * C) / Math.sqrt(minSenders);
  const at = (gamma: number) => {
    const localSigma = localSigmaFloat / gamma;
    const delta2 = roundedNormBound(C / gamma, d);
    const bound = ddgSumBound({ gamma, clipNorm: C, localSigma, delta2, length: d }, maxSenders, rotated);
    return { gamma, localSigma, delta2, bound, modulusBits: Math.ceil(Math.log2(2 * bound + 1)) };
  };
  let chosen = at(Math.min(C / (4 * Math.sqrt(d)), localSigmaFloat / 2));
  if (budget !== undefined) {
    // The bound falls as gamma grows (everything scales as 1 / gamma but rounding's n and d / 4): bisect on log gamma.
    let lo = Math.log(chosen.gamma) - 40;
    let hi = Math.log(C) + 40;
    if (at(Math.exp(hi)).modulusBits > budget) {
      throw new RangeError(`${budget}-bit masks cannot hold the sum of ${maxSenders} devices at any granularity (even the coarsest leaves rounding's share): at least ${at(Math.exp(hi)).modulusBits} bits`);
    }
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (at(Math.exp(mid)).modulusBits <= budget) hi = mid;
      else lo = mid;
    }
    chosen = { ...at(Math.exp(hi)), modulusBits: budget };
  }
  const { gamma, localSigma, delta2, bound, modulusBits } = chosen;
  if (modulusBits > DDG_MAX_MODULUS_BITS) {
    throw new RangeError(
      `the distributed noise needs ${modulusBits}-bit masks (the sum of ${maxSenders} devices' ${d} values, each clipped and noised, reaches ${bound} integer steps); at most ${DDG_MAX_MODULUS_BITS} are supported: lower devicesPerRound or noiseMultiplier`,
    );
  }
  return { clipNorm: C, gamma, localSigma, delta2, length: d, minSenders, modulusBits, ...(rotated ? { rotationSeed } : {}) };
}

/**
 * A device's noisy update on the integers, signed and not yet reduced modulo 2^m: clipped to C,
 * scaled by 1/gamma, rotated (when the plan has a seed), rounded conditionally (norm at most
 * delta2), plus N_Z(0, localSigma^2) per value. `uniform` must be cryptographic on a device.
 */
export function ddgIntegers(update: Float32Array, plan: DdgPlan, uniform: Uniform): Float64Array {
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
  if (plan.rotationSeed !== undefined) rotate(x, plan.rotationSeed);
  const z = new Float64Array(d);
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
  for (let i = 0; i < d; i++) z[i] += sampleDiscreteGaussian(plan.localSigma, uniform);
  return z;
}

/** A device's noisy update modulo 2^m, what it masks and sends (ddgIntegers reduced). */
export function encodeDdg(update: Float32Array, plan: DdgPlan, uniform: Uniform): Uint32Array {
  const z = ddgIntegers(update, plan, uniform);
  const modulus = 2 ** plan.modulusBits;
  const out = new Uint32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = ((z[i] % modulus) + modulus) % modulus;
  return out;
}

/** How many values of a signed integer sum lie outside [-2^(m-1), 2^(m-1)): those that wrap modulo 2^m. */
export function countWraps(sum: ArrayLike<number>, modulusBits: number): number {
  const half = 2 ** (modulusBits - 1);
  let n = 0;
  for (let i = 0; i < sum.length; i++) if (sum[i] < -half || sum[i] >= half) n++;
  return n;
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
  for (let i = 0; i < sum.length; i++) signed[i] = (signed[i] * plan.gamma) / senders;
  if (plan.rotationSeed !== undefined) unrotate(signed, plan.rotationSeed);
  return Float32Array.from(signed);
}
