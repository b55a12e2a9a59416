/**
 * mulberry32: a tiny seeded generator, uniform in [0, 1). For the places that draw a handful of
 * numbers from a seed (fleets of simulated devices, data partitions, model initialisation, sampler
 * noise) and must give the same draws on every platform.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32's finaliser: spreads nearby seeds (0, 1, 2, ...) over the whole 32-bit state space. */
export function mix32(seed: number): number {
  let z = (seed | 0) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}
