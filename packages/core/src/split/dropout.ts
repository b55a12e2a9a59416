// Activation dropout at the cut (Zhang, Ni, Wang, arXiv 2412.06414, sec. III; inverted dropout,
// Srivastava et al., JMLR 2014): each split activation is kept with probability 1 - p from a
// seeded stream and the kept ones are scaled by 1/(1-p), so the server's input is unbiased. Only
// the kept values travel: the server rebuilds the positions from the same seed, and the gradient
// it returns is zero at a dropped position, so it too carries only the kept ones.
//
// `protectedPrefix` values (the embedding every block reads) are always kept and never scaled.
import { createRng } from '../random/xoshiro';

export function keepMask(length: number, protectedPrefix: number, p: number, seed: number): Uint8Array {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${p}`);
  const mask = new Uint8Array(length);
  mask.fill(1, 0, Math.min(protectedPrefix, length));
  if (p === 0) return mask.fill(1);
  const rng = createRng(seed);
  for (let i = protectedPrefix; i < length; i++) mask[i] = rng.nextFloat() >= p ? 1 : 0;
  return mask;
}

export function keptCount(mask: Uint8Array): number {
  let k = 0;
  for (const m of mask) k += m;
  return k;
}

/** The kept values, the droppable ones scaled by 1/(1-p). */
export function dropAndPack(values: Float32Array, mask: Uint8Array, protectedPrefix: number, p: number): Float32Array {
  if (values.length !== mask.length) throw new RangeError(`dropout: ${values.length} values for a mask of ${mask.length}`);
  const out = new Float32Array(keptCount(mask));
  const scale = 1 / (1 - p);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) out[k++] = i < protectedPrefix ? values[i] : values[i] * scale;
  return out;
}

/** The packed values back in place, zeros where dropped (no scaling: apply what the sender applied). */
export function unpack(packed: Float32Array, mask: Uint8Array): Float32Array {
  const out = new Float32Array(mask.length);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i] = packed[k++];
  if (k !== packed.length) throw new RangeError(`dropout: ${packed.length} packed values for a mask keeping ${k}`);
  return out;
}

/**
 * The gradient with respect to the device's activations from the gradient with respect to what the
 * server received (packed, kept positions): scaled by 1/(1-p) where droppable, zero where dropped.
 */
export function gradientThroughDropout(packedGrad: Float32Array, mask: Uint8Array, protectedPrefix: number, p: number): Float32Array {
  const out = unpack(packedGrad, mask);
  const scale = 1 / (1 - p);
  for (let i = protectedPrefix; i < out.length; i++) out[i] *= scale;
  return out;
}
