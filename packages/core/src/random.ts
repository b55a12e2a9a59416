/**
 * mulberry32: a tiny seeded generator, uniform in [0, 1). For the few places that draw a handful
 * of numbers from a seed (fleets of simulated devices, data partitions, test instances) and must
 * give the same draws on every platform; the codec's hot path uses xoshiro128** (quant/rng.ts).
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
