// Upper bounds on the codec's mean squared error, V(n) >= E||Q(x) - x||^2, which the on-demand
// policy (Lai et al., arXiv 2403.04430) weighs against energy: sum_k w_k^2 V_k(n_k) <= eps.
//
// Stochastic uniform, n in {1,2,4,8}, L = 2^n - 1 (QSGD, arXiv 1610.02132, Lemma 3.1 style):
// an element between neighbouring levels l <= x <= r has variance (x - l)(r - x), which is at most
//   (a) step^2 / 4 = s_b^2 / L^2        (step = 2 s_b / L), and
//   (b) (x + s_b)(s_b - x) = s_b^2 - x^2  (since -s_b <= l and r <= s_b),
// so E||Q(x)-x||^2 <= min(S / L^2, S - ||x||^2) with S = sum_b len_b s_b^2. S is unknown to the
// policy, but s_b^2 <= ||x_b||^2 and s_b <= max|x| give S <= min(B ||x||^2, length max|x|^2),
// B = min(blockSize, length); both bounds (a), (b) are increasing in S, so substituting holds.
// (b) only matters at 1 bit, where it is exact: V = S - ||x||^2.
// When the device reports S itself (`sumScaleSq`, the blockScaleSq of its last update at the
// encoder's block size), the bound uses it: S/L^2 with the real block scales, typically 10 to 50
// times tighter at 512 elements per block than length * max|x|^2, which assumes every block holds
// the update's largest element.
//
// Half: round-to-nearest has relative error <= 2^-11 for normal values, so <= 2^-22 ||x||^2, plus
// at most (2^-25)^2 per element in the subnormal range, plus the clamp at 65504 when max|x| says
// something is beyond it. Float32: 0.
import type { Bits } from '../bits';
import { DEFAULT_BLOCK_SIZE } from './frame';
import { HALF_MAX } from './half';

export interface UpdateStats {
  length: number;
  /** Squared L2 norm, sum of x_i^2. */
  normSq: number;
  /** max |x_i|; optional: without it the bound uses the norm only. */
  maxAbs?: number;
  /** Elements per scale the update will be encoded with (default DEFAULT_BLOCK_SIZE). */
  blockSize?: number;
  /** S = sum_b len_b s_b^2 at that block size (blockScaleSq); optional, the tightest of the three. */
  sumScaleSq?: number;
}

export function varianceBound(bits: Bits, stats: UpdateStats): number {
  const { length, normSq, maxAbs } = stats;
  if (length === 0 || normSq === 0) return 0;
  if (bits === 32) return 0;
  if (bits === 16) {
    const clamp = maxAbs !== undefined && maxAbs > HALF_MAX ? length * (maxAbs - HALF_MAX) ** 2 : 0;
    return normSq * 2 ** -22 + length * 2 ** -50 + clamp;
  }
  const block = Math.min(stats.blockSize ?? DEFAULT_BLOCK_SIZE, length);
  let sumScaleSq = block * normSq;
  if (maxAbs !== undefined) sumScaleSq = Math.min(sumScaleSq, length * maxAbs * maxAbs);
  if (stats.sumScaleSq !== undefined) sumScaleSq = Math.min(sumScaleSq, stats.sumScaleSq);
  const top = 2 ** bits - 1;
  return Math.max(0, Math.min(sumScaleSq / (top * top), sumScaleSq - normSq));
}

/** Length, squared L2 norm (accumulated in float64) and max |x| of an update. */
export function updateStats(x: Float32Array): { length: number; normSq: number; maxAbs: number } {
  let normSq = 0;
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    normSq += v * v;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
  }
  return { length: x.length, normSq, maxAbs };
}

/**
 * S = sum over blocks of len_b * s_b^2, s_b = max |x| in block b (the uniform codec's scale), at
 * `blockSize` elements per block: what V(n) <= S / (2^n - 1)^2 needs. ||x||^2 <= S always.
 */
export function blockScaleSq(x: Float32Array, blockSize: number = DEFAULT_BLOCK_SIZE): number {
  if (!(Number.isInteger(blockSize) && blockSize >= 1)) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  let sum = 0;
  for (let start = 0; start < x.length; start += blockSize) {
    const end = Math.min(start + blockSize, x.length);
    let max = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(x[i]);
      if (a > max) max = a;
    }
    sum += (end - start) * max * max;
  }
  return sum;
}
