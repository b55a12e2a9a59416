// What crosses the cut, as the project's update frames (../quant: encodeUpdate / decodeUpdate):
// the activations the device sends and the gradients the server returns are flat float vectors,
// encoded at the configured precision with the step id in the frame's round field, so a frame
// from another step, of another length or precision, or with a bad checksum is refused by the
// same checks as an update. Order of the flat vector: the embedding [n, embedDim], then each
// skip [n, h, w, c] in down-path order (packages/diffusion/src/split.ts).
import type { Bits } from '../bits';
import { decodeUpdate, encodeUpdate } from '../quant/codec';
import { DEFAULT_BLOCK_SIZE, frameBytes } from '../quant/frame';
import { normalFrom } from '../random/index';
import { mix32, mulberry32 } from '../random/mulberry32';

/** A frame's step field is a uint32: steps are numbered within a round from 1. */
export function encodeCut(values: Float32Array, bits: Bits, step: number, seed: number): Uint8Array {
  return encodeUpdate(values, { bits, round: step, blockSize: DEFAULT_BLOCK_SIZE, seed });
}

/** Decodes a cut frame, refusing (throwing FrameError) one of another length, precision or step. */
export function decodeCut(frame: Uint8Array, expect: { length: number; bits: Bits; step: number }): Float32Array {
  const values = decodeUpdate(frame, { length: expect.length, bits: expect.bits, round: expect.step });
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`cut frame value ${i} is not finite`);
  }
  return values;
}

export function cutFrameBytes(bits: Bits, length: number): number {
  return frameBytes(bits, length, DEFAULT_BLOCK_SIZE);
}

/**
 * The training noise eps of one split step, from its seed: the server needs it as the target of
 * the loss and rebuilds it rather than receiving n*H*W*C values (the same Box-Muller over
 * mulberry32 as packages/diffusion/src/rng.ts).
 */
export function splitNoise(seed: number, length: number): Float32Array {
  const gen = normalFrom(mulberry32(mix32(seed)));
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = gen();
  return out;
}
