// The project's one seeded random source. Every draw that must be the same on every platform and
// every run with the same seed comes from here: the codec's stochastic rounding, batch sampling on
// the device, fleets of simulated devices, data partitions, model initialisation and sampler noise,
// and the per-device seeds the server hands out. Math.random is never used for any of these.
//
// Three generators, each for a reason:
//   xoshiro128** (xoshiro.ts)    the codec's hot path: a few integer ops per 32-bit output
//   mulberry32 (mulberry32.ts)   a handful of uniform floats from a seed (fleets, partitions, noise)
//   xorshift32 (below)           the device's minibatch indices (Marsaglia 2003), kept so a seed
//                                draws the same batches it always did
// and one string hash, FNV-1a (hash32), that turns "seed:round:device" into a 32-bit seed, and one
// normal sampler over any of them (normalFrom: Box-Muller), for model noise and DP noise.
export { Rng, createRng } from './xoshiro';
export { mulberry32, mix32 } from './mulberry32';

/** FNV-1a over the UTF-16 code units of `text`: a stable 32-bit seed from a string such as "seed:round:device". */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Marsaglia's xorshift32 ("Xorshift RNGs", J. Stat. Softw. 2003): uniform integers in [1, 2^32).
 * A zero seed would stay zero forever, so it is replaced by 1.
 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * Standard normal samples from a uniform source on [0, 1): Box-Muller, both outputs used (cos
 * first, then the sin spare). Shared by the diffusion model's seeded noise and by DP-FedAvg's noise.
 */
export function normalFrom(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = uniform();
    while (u <= 1e-12) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
