// Seeded pseudo-random numbers in plain JavaScript, so that initial weights, training noise and
// sampler noise are identical on every backend (tfjs's own random ops differ between backends).
import { mix32, mulberry32, normalFrom } from '@fedbit/core';

/** A uniform generator on [0, 1): the project's mulberry32 (packages/core/src/random), seed spread by mix32. */
export function uniform(seed: number): () => number {
  return mulberry32(mix32(seed));
}

/** Standard normal samples (core's Box-Muller over uniform(seed)). */
export function normal(seed: number): () => number {
  return normalFrom(uniform(seed));
}

/** Fills a new Float32Array with standard normal samples. */
export function normalArray(length: number, gen: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = gen();
  return out;
}
