// Seeded pseudo-random numbers in plain JavaScript, so that initial weights, training noise and
// sampler noise are identical on every backend (tfjs's own random ops differ between backends).
import { mix32, mulberry32 } from '@fedbit/core';

/** A uniform generator on [0, 1): the project's mulberry32 (packages/core/src/random), seed spread by mix32. */
export function uniform(seed: number): () => number {
  return mulberry32(mix32(seed));
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
