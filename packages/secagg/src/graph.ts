// SecAgg+'s sparse communication graph (Bell, Bonawitz, Gascón, Lepoint, Raykova, "Secure
// Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020, arXiv 2005.11348): each
// device shares masks and secrets with k = O(log n) neighbors instead of all n - 1, on a Harary
// graph laid over a seeded random permutation of the round's devices. k even; with k >= n - 1 the
// graph is complete (plain SecAgg, Bonawitz et al., CCS 2017).
import { mulberry32 } from '@fedbit/core';

/** Neighbors (roster indices) of every device: neighbors[i] lists i's k neighbors, symmetric. */
export function neighborGraph(n: number, k: number, seed: number): number[][] {
  if (k >= n - 1) return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i));
  if (k % 2 !== 0 || k < 2) throw new RangeError(`degree ${k} must be even and >= 2 (or >= n - 1)`);
  const random = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const position = new Array<number>(n);
  order.forEach((device, at) => (position[device] = at));
  return Array.from({ length: n }, (_, i) => {
    const at = position[i];
    const out: number[] = [];
    for (let d = 1; d <= k / 2; d++) out.push(order[(at + d) % n], order[(at - d + n) % n]);
    return out;
  });
}
