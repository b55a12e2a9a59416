// The binary update frame: a fixed 24-byte little-endian header, then the payload.
//
//   offset  size  field
//        0     4  magic "FBUP" (46 42 55 50)
//        4     1  version (FRAME_VERSION)
//        5     1  codec: 1 = stochastic uniform, 2 = IEEE half, 3 = float32
//        6     1  bits: 1, 2, 4, 8 (uniform), 16 (half), 32 (float32)
//        7     1  reserved, 0
//        8     4  block size in elements (uniform: >= 1; half and float32: 0)
//       12     4  element count
//       16     4  round
//       20     4  checksum: xxHash32 of the payload, seeded with xxHash32 of bytes 0..19 (so a
//                 flipped round or length is caught too)
//       24     .  payload
//
// Uniform payload: one float32 scale per block, then each block's codes packed LSB-first,
// bits/8 bytes per element, each block starting on a byte (only the last block can leave pad
// bits; they must be 0). Half payload: length x uint16. Float32 payload: length x float32.
// A reader refuses anything else with a FrameError naming the field, so a server can tell a
// device exactly what was wrong.
import type { Bits } from '../bits';
import { xxhash32 } from './xxhash32';

export const FRAME_MAGIC = 0x50554246; // "FBUP" read as a little-endian uint32
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 24;
/** Default elements per scale: the smallest power of two meeting the size targets (4 bits:
 * 4/32 + 32/(32*512) = 12.7% of float32; 8 bits: 25.2%; 2 bits: 6.4%) while keeping each
 * block's max-abs scale, hence its quantization step, as local as possible. */
export const DEFAULT_BLOCK_SIZE = 512;
/** Upper limit on the block size a frame may declare (keeps the encoder's scratch bounded). */
export const MAX_BLOCK_SIZE = 1 << 24;
const MAX_UINT32 = 0xffffffff;

export type FrameCodec = 'uniform' | 'half' | 'float32';
const CODEC_IDS: Record<FrameCodec, number> = { uniform: 1, half: 2, float32: 3 };

export type FrameField =
  | 'header'
  | 'magic'
  | 'version'
  | 'codec'
  | 'bits'
  | 'blockSize'
  | 'length'
  | 'round'
  | 'checksum'
  | 'payload'
  | 'scale'
  | 'value';

/** A frame was refused; `field` names the part that was wrong. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly field: FrameField,
    message: string,
  ) {
    super(`update frame refused (${field}): ${message}`);
  }
}

export interface FrameHeader {
  version: number;
  codec: FrameCodec;
  bits: Bits;
  /** Elements per scale for the uniform codec; 0 for half and float32. */
  blockSize: number;
  /** Number of float32 values the frame carries. */
  length: number;
  round: number;
  checksum: number;
  /** Exact byte size of the whole frame that this header implies. */
  frameBytes: number;
}

/** What a reader may require of a frame beyond being well formed. */
export interface FrameExpectation {
  length?: number;
  round?: number;
  bits?: Bits;
}

export function codecForBits(bits: Bits): FrameCodec {
  return bits === 32 ? 'float32' : bits === 16 ? 'half' : 'uniform';
}

export function blockCount(length: number, blockSize: number): number {
  return Math.ceil(length / blockSize);
}

/** Bytes of packed codes for a block of `count` elements at `bits` per element. */
export function codeBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

function checkSizeArgs(bits: Bits, length: number, blockSize: number): void {
  if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8 && bits !== 16 && bits !== 32) {
    throw new RangeError(`bits must be one of 1, 2, 4, 8, 16, 32; got ${String(bits)}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_UINT32) {
    throw new RangeError(`length must be an integer in [0, 2^32); got ${length}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`blockSize must be an integer in [1, ${MAX_BLOCK_SIZE}]; got ${blockSize}`);
  }
}

/** Exact byte size of the frame encodeUpdate produces for `length` values at `bits`. */
export function frameBytes(bits: Bits, length: number, blockSize: number = DEFAULT_BLOCK_SIZE): number {
  checkSizeArgs(bits, length, blockSize);
  return FRAME_HEADER_BYTES + payloadBytes(bits, length, blockSize);
}

function payloadBytes(bits: Bits, length: number, blockSize: number): number {
  if (bits === 32) return 4 * length;
  if (bits === 16) return 2 * length;
  if (length === 0) return 0;
  const blocks = blockCount(length, blockSize);
  const last = length - (blocks - 1) * blockSize;
  return 4 * blocks + (blocks - 1) * codeBytes(blockSize, bits) + codeBytes(last, bits);
}

export function writeFrameHeader(
  out: Uint8Array,
  h: { codec: FrameCodec; bits: Bits; blockSize: number; length: number; round: number },
): void {
  const view = new DataView(out.buffer, out.byteOffset, FRAME_HEADER_BYTES);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint8(4, FRAME_VERSION);
  view.setUint8(5, CODEC_IDS[h.codec]);
  view.setUint8(6, h.bits);
  view.setUint8(7, 0);
  view.setUint32(8, h.blockSize, true);
  view.setUint32(12, h.length, true);
  view.setUint32(16, h.round, true);
}

/** The checksum bytes 20..23 must hold: xxHash32 of the payload, seeded with that of bytes 0..19. */
export function frameChecksum(frame: Uint8Array): number {
  return xxhash32(frame, FRAME_HEADER_BYTES, frame.length, xxhash32(frame, 0, 20));
}

export function sealFrame(frame: Uint8Array): Uint8Array {
  new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES).setUint32(20, frameChecksum(frame), true);
  return frame;
}

/**
 * Reads and checks the header only: magic, version, codec, bits, reserved byte, block size. It does
 * not look at the payload or the frame's byte length; decodeUpdate and the aggregator do.
 */
export function readFrameHeader(frame: Uint8Array): FrameHeader {
  if (frame.length < FRAME_HEADER_BYTES) {
    throw new FrameError('header', `frame is ${frame.length} bytes, shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== FRAME_MAGIC) {
    throw new FrameError('magic', `starts with 0x${hex(magic)}, expected "FBUP" (0x${hex(FRAME_MAGIC)}); this is not a fedbit update frame`);
  }
  const version = view.getUint8(4);
  if (version !== FRAME_VERSION) {
    throw new FrameError('version', `frame version ${version}, this reader understands version ${FRAME_VERSION}; update the client or the server so both match`);
  }
  const codecId = view.getUint8(5);
  const codec = (Object.keys(CODEC_IDS) as FrameCodec[]).find((c) => CODEC_IDS[c] === codecId);
  if (codec === undefined) {
    throw new FrameError('codec', `unknown codec id ${codecId}, expected 1 (uniform), 2 (half) or 3 (float32)`);
  }
  const bits = view.getUint8(6);
  const allowed = codec === 'uniform' ? [1, 2, 4, 8] : codec === 'half' ? [16] : [32];
  if (!allowed.includes(bits)) {
    throw new FrameError('bits', `${bits} bits with the ${codec} codec, expected ${allowed.join(', ')}`);
  }
  if (view.getUint8(7) !== 0) throw new FrameError('header', `reserved byte 7 is ${view.getUint8(7)}, expected 0`);
  const blockSize = view.getUint32(8, true);
  if (codec === 'uniform' ? blockSize < 1 || blockSize > MAX_BLOCK_SIZE : blockSize !== 0) {
    const want = codec === 'uniform' ? `1..${MAX_BLOCK_SIZE}` : `0 for the ${codec} codec`;
    throw new FrameError('blockSize', `block size ${blockSize}, expected ${want}`);
  }
  const length = view.getUint32(12, true);
  return {
    version,
    codec,
    bits: bits as Bits,
    blockSize,
    length,
    round: view.getUint32(16, true),
    checksum: view.getUint32(20, true),
    frameBytes: FRAME_HEADER_BYTES + payloadBytes(bits as Bits, length, blockSize || 1),
  };
}

/**
 * Header, expectations, exact byte length and checksum: everything except the payload's values.
 * Cheap checks first so a wrong frame is named by its most telling field.
 */
export function checkFrame(frame: Uint8Array, expect: FrameExpectation = {}): FrameHeader {
  const h = readFrameHeader(frame);
  if (expect.length !== undefined && h.length !== expect.length) {
    throw new FrameError('length', `frame holds ${h.length} values, expected ${expect.length} (the model's parameter count)`);
  }
  if (expect.round !== undefined && h.round !== expect.round) {
    throw new FrameError('round', `frame is for round ${h.round}, expected round ${expect.round}`);
  }
  if (expect.bits !== undefined && h.bits !== expect.bits) {
    throw new FrameError('bits', `frame is at ${h.bits} bits, expected ${expect.bits}`);
  }
  if (frame.length !== h.frameBytes) {
    const what = frame.length < h.frameBytes ? 'truncated' : 'has extra bytes';
    throw new FrameError('payload', `frame ${what}: ${frame.length} bytes, the header implies exactly ${h.frameBytes}`);
  }
  const actual = frameChecksum(frame);
  if (actual !== h.checksum) {
    throw new FrameError('checksum', `checksum is 0x${hex(actual)}, the header says 0x${hex(h.checksum)}; the frame was corrupted in transit, send it again`);
  }
  return h;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
