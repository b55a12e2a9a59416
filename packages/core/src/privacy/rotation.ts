// The flattening of the distributed discrete Gaussian mechanism (Kairouz, Liu, Steinke, "The
// Distributed Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation", ICML 2021,
// arXiv 2102.06387, Algorithm 1, "flatten"): before rounding, every device of a round multiplies its
// clipped, scaled update by the same random rotation U = H D, D a diagonal of random signs drawn from
// a seed the round publishes and H the normalized Walsh-Hadamard transform; the aggregator applies
// U^T to the unmasked sum. After U every coordinate of a vector x is subgaussian with variance proxy
// ||x||^2 / B (B the transform's size; Ailon and Chazelle's fast Johnson-Lindenstrauss argument), so
// a coordinate that carried the whole norm (a spike) is spread over B coordinates of about
// ||x|| / sqrt(B) each, and the modulus can be sized for that instead of for the spike (ddg.ts).
// U is orthonormal: norms, and so the conditional rounding's bound and the privacy, are unchanged.
//
// Length: the paper pads d to a power of two, which would change what is masked and sent. Here B is
// the largest power of two <= d; the transform is applied to [0, B), then, if d > B, with fresh
// signs to the last window [d - B, d), which overlaps the first. Each step is orthonormal on the whole
// vector (the identity outside its window), so their product is too; every coordinate ends as an
// output of one H D over B values, and nothing is padded. Costs 2 B log2 B additions at most.
import { Rng } from '../random/xoshiro';

/** The transform's size for d values: the largest power of two <= d. */
export function rotationBlock(d: number): number {
  if (!(Number.isInteger(d) && d >= 1)) throw new RangeError(`length ${d} must be a positive integer`);
  return 2 ** Math.floor(Math.log2(d));
}

/** The normalized Walsh-Hadamard transform of x[offset, offset + n), n a power of two, in place: orthonormal and its own inverse. */
export function walshHadamard(x: Float64Array, offset = 0, n = x.length - offset): void {
  if (!(n >= 1 && (n & (n - 1)) === 0 && offset >= 0 && offset + n <= x.length)) throw new RangeError(`Walsh-Hadamard window [${offset}, ${offset + n}) must be a power-of-two length within ${x.length} values`);
  for (let h = 1; h < n; h *= 2) {
    for (let i = offset; i < offset + n; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const a = x[j];
        const b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
  const norm = 1 / Math.sqrt(n);
  for (let i = offset; i < offset + n; i++) x[i] *= norm;
}

/** The two sign diagonals of the round's rotation: d signs for the whole vector, then B for the last window (when d > B). */
function signWords(seed: number, d: number): { first: Uint32Array; last: Uint32Array | null } {
  const rng = new Rng(seed);
  const B = rotationBlock(d);
  const first = new Uint32Array(Math.ceil(d / 32));
  rng.fillUint32(first);
  let last: Uint32Array | null = null;
  if (d > B) {
    last = new Uint32Array(Math.ceil(B / 32));
    rng.fillUint32(last);
  }
  return { first, last };
}

function flipSigns(x: Float64Array, words: Uint32Array, offset: number, n: number): void {
  for (let i = 0; i < n; i++) if ((words[i >>> 5] >>> (i & 31)) & 1) x[offset + i] = -x[offset + i];
}

/** x <- U x, the round's rotation from its seed, in place. */
export function rotate(x: Float64Array, seed: number): void {
  const d = x.length;
  const B = rotationBlock(d);
  const { first, last } = signWords(seed, d);
  flipSigns(x, first, 0, d);
  walshHadamard(x, 0, B);
  if (last) {
    flipSigns(x, last, d - B, B);
    walshHadamard(x, d - B, B);
  }
}

/** x <- U^T x: undoes rotate(x, seed), in place. */
export function unrotate(x: Float64Array, seed: number): void {
  const d = x.length;
  const B = rotationBlock(d);
  const { first, last } = signWords(seed, d);
  if (last) {
    walshHadamard(x, d - B, B);
    flipSigns(x, last, d - B, B);
  }
  walshHadamard(x, 0, B);
  flipSigns(x, first, 0, d);
}
