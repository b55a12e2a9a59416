// The LoRA adapter vector both sides agree on (LoRA: Hu et al., "LoRA: Low-Rank Adaptation of
// Large Language Models", arXiv 2106.09685). A frozen weight W gets a low-rank update
//   W' = W + (alpha / r) B A,   A [r, fanIn] random (shared seed),   B [fanOut, r] zero at init,
// in the paper's shapes, W acting on column vectors. The model stores its kernels input-major
// ([fanIn, fanOut], y = x W; a conv kernel [kh, kw, cin, cout] as a (kh*kw*cin) x cout matrix), so
// the delta added to a stored kernel is the transpose:  dW[i, o] = scale * sum_k A[k, i] B[o, k].
//
// Layout: every adapter's A (row-major [rank, fanIn]) in adapter order is the A block, every B
// (row-major [fanOut, rank]) the B block. What a device trains and uploads, the trainable vector, is
// the B block alone for FFA-LoRA (A stays the shared init) and [A block | B block] for FedIT.
import { mix32, mulberry32, normalFrom } from '../random/index';
import type { LoraMethod } from '../vocabulary';

export interface LoraAdapterShape {
  /** The adapted layer, e.g. 'down0.res0.conv1'. */
  readonly name: string;
  readonly fanIn: number;
  readonly fanOut: number;
  readonly rank: number;
  /** alpha / rank. */
  readonly scale: number;
}

export interface LoraAdapterEntry extends LoraAdapterShape {
  /** Where this adapter's A starts in the A block. */
  readonly aOffset: number;
  /** Where this adapter's B starts in the B block. */
  readonly bOffset: number;
}

export interface LoraLayout {
  readonly method: LoraMethod;
  readonly adapters: readonly LoraAdapterEntry[];
  readonly aLength: number;
  readonly bLength: number;
  /** Where the B block starts in the trainable vector: 0 (FFA-LoRA) or aLength (FedIT). */
  readonly bStart: number;
  /** Length of the trainable vector, the one that is encoded, uploaded and merged. */
  readonly trainableLength: number;
}

export function buildLoraLayout(shapes: readonly LoraAdapterShape[], method: LoraMethod): LoraLayout {
  if (method !== 'ffa-lora' && method !== 'fedit') throw new Error(`unknown LoRA method '${String(method)}': expected 'ffa-lora' or 'fedit'`);
  if (shapes.length === 0) throw new Error('a LoRA layout needs at least one adapter');
  const seen = new Set<string>();
  let aLength = 0;
  let bLength = 0;
  const adapters = shapes.map((s) => {
    const bad = (what: string): never => {
      throw new Error(`LoRA adapter '${s.name}': ${what}`);
    };
    if (!s.name) bad('needs a name');
    if (seen.has(s.name)) bad('appears twice');
    seen.add(s.name);
    for (const key of ['fanIn', 'fanOut', 'rank'] as const) {
      if (!Number.isInteger(s[key]) || s[key] < 1) bad(`${key} must be an integer >= 1, got ${s[key]}`);
    }
    // a higher rank adds parameters but no expressiveness: dW is fanIn x fanOut
    if (s.rank > Math.min(s.fanIn, s.fanOut)) bad(`rank ${s.rank} exceeds min(fanIn, fanOut) = ${Math.min(s.fanIn, s.fanOut)}`);
    if (!(s.scale > 0) || !Number.isFinite(s.scale)) bad(`scale must be a finite number > 0, got ${s.scale}`);
    const entry = { name: s.name, fanIn: s.fanIn, fanOut: s.fanOut, rank: s.rank, scale: s.scale, aOffset: aLength, bOffset: bLength };
    aLength += s.rank * s.fanIn;
    bLength += s.fanOut * s.rank;
    return entry;
  });
  const bStart = method === 'fedit' ? aLength : 0;
  return { method, adapters, aLength, bLength, bStart, trainableLength: bStart + bLength };
}

/**
 * The A block every device derives from the run's seed: N(0, 1/fanIn) entries (LoRA's random
 * Gaussian A, at the variance that keeps x A^T at the scale of x), drawn in layout order from the
 * project's seeded source. FFA-LoRA keeps it for the whole run; FedIT starts from it.
 */
export function sharedA(layout: LoraLayout, seed: number): Float32Array {
  const gen = normalFrom(mulberry32(mix32(seed)));
  const out = new Float32Array(layout.aLength);
  for (const a of layout.adapters) {
    const std = Math.sqrt(1 / a.fanIn);
    for (let i = a.aOffset; i < a.aOffset + a.rank * a.fanIn; i++) out[i] = gen() * std;
  }
  return out;
}

/** The A and B blocks of a trainable vector; FFA-LoRA's A block is the shared one, passed in. */
export function loraBlocks(layout: LoraLayout, trainable: Float32Array, a?: Float32Array): { a: Float32Array; b: Float32Array } {
  if (trainable.length !== layout.trainableLength) {
    throw new RangeError(`the ${layout.method} adapter vector has ${trainable.length} values, expected ${layout.trainableLength} (this layout's trainable length)`);
  }
  const b = trainable.subarray(layout.bStart);
  if (layout.method === 'fedit') return { a: trainable.subarray(0, layout.aLength), b };
  if (!a || a.length !== layout.aLength) {
    throw new RangeError(`FFA-LoRA's vector holds B only: pass the shared A block of ${layout.aLength} values (sharedA), got ${a ? a.length : 'none'}`);
  }
  return { a, b };
}

/**
 * An adapter's delta on its stored kernel, [fanIn, fanOut] row-major: dW[i, o] = scale * sum_k
 * A[k, i] B[o, k], summed in float64. a and b are the A and B blocks (loraBlocks).
 */
export function loraDelta(adapter: LoraAdapterEntry, a: Float32Array, b: Float32Array): Float32Array {
  const { fanIn, fanOut, rank, scale, aOffset, bOffset } = adapter;
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < fanIn; i++) {
    for (let o = 0; o < fanOut; o++) {
      let s = 0;
      for (let k = 0; k < rank; k++) s += a[aOffset + k * fanIn + i] * b[bOffset + o * rank + k];
      out[i * fanOut + o] = scale * s;
    }
  }
  return out;
}
