// The common grid of a securely aggregated round: every device's update becomes integers on one
// grid, so masked integers can be summed (Bonawitz et al., "Practical Secure Aggregation for
// Privacy-Preserving Machine Learning", CCS 2017) and the sum decoded once. SecAgg+ (Bell et al.,
// "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020, arXiv 2005.11348)
// and every secure-summation scheme need the same thing: a scale everyone shares, chosen before the
// inputs exist, because per-device scales would have to be sent in the clear and the sum of values
// on different scales cannot be decoded.
//
// The rule (one source for device and server):
//   - the server announces per block b a scale s_b (gridScales: a bound, tightened by the last
//     committed mean update's per-block max |.| times a headroom) and the round's grid precision B,
//     the largest precision any device of the round was assigned;
//   - a device assigned b <= B bits clips each value to [-s_b, s_b] and rounds it stochastically to
//     one of the 2^b levels s_b (2c - L_b) / L_b, c = 0..L_b, L_b = 2^b - 1 (the codec's levels,
//     quant/uniform.ts), up with probability equal to the fraction of the way, so E[level] = value
//     inside the clip range (QSGD's unbiased rounding, Alistarh et al., arXiv 1610.02132);
//   - it sends c * L_B / L_b: with b and B powers of two, b divides B and L_b divides L_B
//     (2^B - 1 = (2^b - 1)(1 + 2^b + 2^2b + ...)), so the b-bit level sits exactly on the B-bit grid
//     and no second rounding is needed;
//   - the server decodes the integer sum Q of n inputs as the mean update s_b (2 Q / L_B - n) / n.
// Clipping is where a device's update is bounded under secure aggregation (the server never sees
// one update, so it cannot clip it); values beyond s_b are biased toward the clip.
import { Rng } from '../random/xoshiro';

/** The widest input the masks take (packages/secagg: masks mod 2^(B + ceil(log2 n)) in 32-bit words). */
export const GRID_MAX_BITS = 16;
export const GRID_BITS = [1, 2, 4, 8, 16] as const;
export type GridBits = (typeof GRID_BITS)[number];

export interface Grid {
  /** B: the round's precision, the largest assigned to any device of the round. */
  bits: GridBits;
  blockSize: number;
  /** s_b per block of blockSize values (the last block may be shorter). */
  scales: Float32Array | readonly number[];
}

export function isGridBits(bits: number): bits is GridBits {
  return (GRID_BITS as readonly number[]).includes(bits);
}

/** The round's grid precision: the largest of the precisions assigned. */
export function gridBitsOf(assigned: readonly number[]): GridBits {
  const top = Math.max(...assigned);
  if (!isGridBits(top)) throw new RangeError(`secure aggregation takes precisions ${GRID_BITS.join(', ')}; the round assigned ${top}`);
  return top;
}

/**
 * Scales for the next round: `bound` per value (a bound on how far one device's update can move a
 * weight, e.g. learning rate x local steps for Adam), tightened per block to `headroom` times the
 * block's largest |value| in the last committed mean update when there is one (never below
 * bound / 256, so a block that did not move can still move).
 */
export function gridScales(length: number, blockSize: number, bound: number, previousMean: Float32Array | null = null, headroom = 4): Float32Array {
  if (!(bound > 0 && Number.isFinite(bound))) throw new RangeError(`grid bound ${bound} must be a positive finite number`);
  const blocks = Math.ceil(length / blockSize);
  const scales = new Float32Array(blocks).fill(bound);
  if (!previousMean) return scales;
  if (previousMean.length !== length) throw new RangeError(`previous mean update has ${previousMean.length} values, the model ${length}`);
  for (let b = 0; b < blocks; b++) {
    let max = 0;
    for (let i = b * blockSize; i < Math.min(length, (b + 1) * blockSize); i++) max = Math.max(max, Math.abs(previousMean[i]));
    scales[b] = Math.min(bound, Math.max(bound / 256, headroom * max));
  }
  return scales;
}

function checkGrid(grid: Grid, length: number): void {
  if (!isGridBits(grid.bits)) throw new RangeError(`grid precision ${grid.bits} must be one of ${GRID_BITS.join(', ')}`);
  const blocks = Math.ceil(length / grid.blockSize);
  if (grid.scales.length !== blocks) throw new RangeError(`grid has ${grid.scales.length} scales; ${length} values in blocks of ${grid.blockSize} need ${blocks}`);
}

/**
 * A device's update on the round's grid: clipped to its block's scale, rounded stochastically to one
 * of its own 2^bits levels (seeded: the same task gives the same integers), placed on the B-bit grid.
 */
export function encodeOnGrid(update: Float32Array, grid: Grid, bits: number, seed: number): Uint32Array {
  checkGrid(grid, update.length);
  if (!isGridBits(bits) || bits > grid.bits) throw new RangeError(`device precision ${bits} must be one of ${GRID_BITS.join(', ')} and at most the grid's ${grid.bits}`);
  const top = 2 ** bits - 1;
  const shift = (2 ** grid.bits - 1) / top; // an integer: 2^b - 1 divides 2^B - 1 when b divides B
  const rng = new Rng(seed);
  const out = new Uint32Array(update.length);
  for (let i = 0; i < update.length; i++) {
    const s = grid.scales[Math.floor(i / grid.blockSize)];
    if (!(s > 0)) continue; // a block of scale 0 decodes to 0 whatever is sent
    const v = Math.min(s, Math.max(-s, Number.isFinite(update[i]) ? update[i] : 0));
    const position = ((v + s) / (2 * s)) * top; // in [0, top]
    const low = Math.min(top - 1, Math.floor(position));
    const level = rng.nextFloat() < position - low ? low + 1 : low;
    out[i] = level * shift;
  }
  return out;
}

/** The mean update of `count` inputs from their integer sum on the grid. */
export function decodeGridMean(sum: ArrayLike<number>, count: number, grid: Grid): Float32Array {
  checkGrid(grid, sum.length);
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`count ${count} must be a positive integer`);
  const top = 2 ** grid.bits - 1;
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const s = grid.scales[Math.floor(i / grid.blockSize)];
    out[i] = (s * ((2 * sum[i]) / top - count)) / count;
  }
  return out;
}
