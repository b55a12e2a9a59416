// Sampling the discrete Gaussian N_Z(0, sigma^2) (P[X = x] proportional to exp(-x^2 / (2 sigma^2))
// over the integers) by the rejection sampler of Canonne, Kamath, Steinke, "The Discrete Gaussian for
// Differential Privacy", NeurIPS 2020, arXiv 2004.00010:
//   Algorithm 2, discrete Laplace with scale t:  U uniform in {0..t-1}, accept with Bernoulli(exp(-U/t));
//     V ~ Geometric(1 - exp(-1)) (count Bernoulli(exp(-1)) successes); X = U + t V; sign B ~ Bernoulli(1/2),
//     rejecting (B = 1, X = 0) so that 0 is not counted twice; return (1 - 2B) X.
//   Algorithm 3, discrete Gaussian: t = floor(sigma) + 1; Y ~ discrete Laplace(t); accept with
//     Bernoulli(exp(-(|Y| - sigma^2 / t)^2 / (2 sigma^2))).
// Where the paper draws each Bernoulli(exp(-g)) exactly with rational arithmetic (its Algorithm 1), this
// compares a 53-bit uniform with exp(-g) computed in double precision: each draw's probability is off by
// at most about 2^-52, which no test of the noise can see and which we state rather than hide.
// The uniform source is the caller's: a cryptographic one on a device (cryptoUniform, below: the
// aggregator must not be able to predict the noise), a seeded one in tests.

/** Uniform doubles in [0, 1). */
export type Uniform = () => number;

/** Bernoulli(exp(-g)), g >= 0. */
function bernoulliExp(g: number, uniform: Uniform): boolean {
  return uniform() < Math.exp(-g);
}

/** One draw of the discrete Laplace distribution with scale t (an integer >= 1): P[X = x] proportional to exp(-|x| / t). */
export function sampleDiscreteLaplace(t: number, uniform: Uniform): number {
  for (;;) {
    const u = Math.floor(uniform() * t);
    if (!bernoulliExp(u / t, uniform)) continue;
    let v = 0;
    while (bernoulliExp(1, uniform)) v++;
    const x = u + t * v;
    const negative = uniform() < 0.5;
    if (negative && x === 0) continue;
    return negative ? -x : x;
  }
}

/** One draw of N_Z(0, sigma^2), sigma > 0. */
export function sampleDiscreteGaussian(sigma: number, uniform: Uniform): number {
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new RangeError(`discrete Gaussian sigma ${sigma} must be a positive finite number`);
  const t = Math.floor(sigma) + 1;
  const s2 = sigma * sigma;
  for (;;) {
    const y = sampleDiscreteLaplace(t, uniform);
    const d = Math.abs(y) - s2 / t;
    if (bernoulliExp((d * d) / (2 * s2), uniform)) return y;
  }
}

/** A uniform source from the platform's cryptographic generator (WebCrypto's getRandomValues, in a browser and in Node): 53 random bits a draw. */
export function cryptoUniform(): Uniform {
  // core has no DOM or Node types: WebCrypto's one method used here, as both platforms give it.
  const crypto = (globalThis as { crypto?: { getRandomValues(array: Uint32Array): Uint32Array } }).crypto;
  if (!crypto?.getRandomValues) throw new Error('no cryptographic random source (crypto.getRandomValues): the device cannot draw private noise');
  const words = new Uint32Array(8192); // 32 KiB a refill: getRandomValues takes at most 64 KiB
  let at = words.length;
  return () => {
    if (at + 2 > words.length) {
      crypto.getRandomValues(words);
      at = 0;
    }
    const hi = words[at++] >>> 5; // 27 bits
    const lo = words[at++] >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}
