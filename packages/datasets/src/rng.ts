// Seeded generators for partitioning: the same seed gives the same split on every platform.

import { mulberry32 } from '@fedbit/core';

/** Uniform in [0, 1), seeded (mulberry32 with the seed mixed by the golden ratio). */
export function uniform(seed: number): () => number {
  return mulberry32(seed ^ 0x9e3779b9);
}

/** Fisher-Yates shuffle in place. */
export function shuffle<T extends { length: number; [i: number]: number }>(array: T, rand: () => number): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}

function standardNormal(rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000), with the u^(1/shape) boost for shape < 1. */
export function gamma(shape: number, rand: () => number): number {
  if (shape < 1) {
    const u = 1 - rand();
    return gamma(shape + 1, rand) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rand();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** One draw from a symmetric Dirichlet(alpha) over k outcomes. */
export function dirichlet(alpha: number, k: number, rand: () => number): Float64Array {
  const out = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += out[i] = gamma(alpha, rand);
  if (!(sum > 0)) {
    // Every draw underflowed (tiny alpha): all the mass goes to one outcome, as alpha -> 0 implies.
    out.fill(0);
    out[Math.floor(rand() * k)] = 1;
    return out;
  }
  for (let i = 0; i < k; i++) out[i] /= sum;
  return out;
}
