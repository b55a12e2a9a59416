// Seeded pseudo-random numbers in plain JavaScript, so that initial weights, training noise and
// sampler noise are identical on every backend (tfjs's own random ops differ between backends).

/** A uniform generator on [0, 1) built on mulberry32 (32-bit state, fast, good enough for noise). */
export function uniform(seed: number): () => number {
  let a = mix(seed);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller, both outputs used). */
export function normal(seed: number): () => number {
  const next = uniform(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = next();
    while (u <= 1e-12) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** Fills a new Float32Array with standard normal samples. */
export function normalArray(length: number, gen: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = gen();
  return out;
}

/** splitmix32 finaliser: spreads nearby seeds (0, 1, 2, ...) over the whole state space. */
export function mix(seed: number): number {
  let z = (seed | 0) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}
