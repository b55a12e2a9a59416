// The update codec's entry points: encodeUpdate (device side), decodeUpdate (anyone), and the
// check-then-accumulate pair the streaming aggregator uses. Precision n picks the codec:
// 1/2/4/8 -> stochastic uniform (uniform.ts, QSGD, arXiv 1610.02132), 16 -> half, 32 -> float32
// (lossless.ts). Frame layout: frame.ts.
import type { Bits } from '../bits';
import {
  checkFrame,
  codecForBits,
  DEFAULT_BLOCK_SIZE,
  FRAME_HEADER_BYTES,
  frameBytes,
  type FrameExpectation,
  type FrameHeader,
  sealFrame,
  writeFrameHeader,
} from './frame';
import { accumulateLossless, checkLosslessPayload, decodeLosslessInto, encodeFloat32Payload, encodeHalfPayload, float32Payload } from './lossless';
import { createRng, type Rng } from '../random/xoshiro';
import { accumulateUniform, checkUniformPayload, decodeUniformInto, encodeUniformPayload, type UniformBits } from './uniform';

export interface EncodeOptions {
  bits: Bits;
  /** Round number written into the frame (uint32). */
  round: number;
  /** Elements per scale for 1-8 bits (default DEFAULT_BLOCK_SIZE = 512); ignored for 16 and 32. */
  blockSize?: number;
  /** Random source for stochastic rounding; wins over `seed`. */
  rng?: Rng;
  /** Seed for a fresh xoshiro128** source. Default: the round, so give each device its own seed,
   * or devices' rounding noise is correlated and stops averaging out. */
  seed?: number;
}

/**
 * Encodes an update (float32 values) as a self-describing frame of exactly
 * frameBytes(bits, update.length, blockSize) bytes. Throws RangeError for a non-finite value or
 * bad options: a diverged local step should be caught on the device, not shipped.
 */
export function encodeUpdate(update: Float32Array, opts: EncodeOptions): Uint8Array {
  const { bits, round } = opts;
  const codec = codecForBits(bits);
  const blockSize = codec === 'uniform' ? (opts.blockSize ?? DEFAULT_BLOCK_SIZE) : 0;
  // frameBytes also validates bits, length and (for 1-8 bits) the block size.
  const total = frameBytes(bits, update.length, codec === 'uniform' ? blockSize : 1);
  if (!Number.isInteger(round) || round < 0 || round > 0xffffffff) {
    throw new RangeError(`round must be an integer in [0, 2^32); got ${round}`);
  }
  assertFinite(update);
  const frame = new Uint8Array(total);
  writeFrameHeader(frame, { codec, bits, blockSize, length: update.length, round });
  if (codec === 'uniform') {
    const rng = opts.rng ?? createRng(opts.seed ?? round);
    encodeUniformPayload(update, bits as UniformBits, blockSize, rng, frame, FRAME_HEADER_BYTES);
  } else if (codec === 'half') {
    encodeHalfPayload(update, frame, FRAME_HEADER_BYTES);
  } else {
    encodeFloat32Payload(update, frame, FRAME_HEADER_BYTES);
  }
  return sealFrame(frame);
}

function assertFinite(x: Float32Array): void {
  // x - x is 0 for finite x and NaN for NaN or +-Inf; one branch-free pass.
  let probe = 0;
  for (let i = 0; i < x.length; i++) probe += x[i] - x[i];
  if (probe === 0) return;
  const i = x.findIndex((v) => !Number.isFinite(v));
  throw new RangeError(`update[${i}] is ${x[i]}; an update must be finite (did local training diverge?)`);
}

/** A frame that passed every check; only such a frame can be accumulated. */
export interface CheckedFrame {
  readonly frame: Uint8Array;
  readonly header: FrameHeader;
  /** Squared L2 norm of the decoded update: always for 16/32 bits, for 1-8 bits when asked. */
  readonly normSq: number | undefined;
  /** The float32 payload, kept so accumulating does not realign it twice. */
  readonly values: Float32Array | null;
}

/**
 * Checks everything about a frame without decoding it: header, expectations, exact size, checksum,
 * every scale (1-8 bits) or every value (16/32 bits). Throws FrameError naming the field.
 */
export function inspectFrame(frame: Uint8Array, expect: FrameExpectation = {}, opts: { normSq?: boolean } = {}): CheckedFrame {
  const header = checkFrame(frame, expect);
  if (header.codec === 'uniform') {
    return { frame, header, normSq: checkUniformPayload(frame, header, opts.normSq ?? false), values: null };
  }
  const values = header.codec === 'float32' ? float32Payload(frame, header) : null;
  return { frame, header, normSq: checkLosslessPayload(frame, header, values), values };
}

/** sum[i] += factor * decoded value i. Cannot fail once inspectFrame has passed. */
export function accumulateFrame(checked: CheckedFrame, sum: Float64Array, factor: number): void {
  const { frame, header } = checked;
  if (sum.length !== header.length) {
    throw new RangeError(`sum has ${sum.length} elements, the frame ${header.length}`);
  }
  if (header.codec === 'uniform') accumulateUniform(frame, header, sum, factor);
  else accumulateLossless(frame, header, sum, factor, checked.values);
}

/** Decodes a frame to float32 values, after every check inspectFrame makes. Never returns garbage. */
export function decodeUpdate(frame: Uint8Array, expect: FrameExpectation = {}): Float32Array {
  const { header } = inspectFrame(frame, expect);
  const out = new Float32Array(header.length);
  if (header.codec === 'uniform') decodeUniformInto(frame, header, out);
  else decodeLosslessInto(frame, header, out);
  return out;
}
