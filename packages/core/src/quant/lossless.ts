// Payloads of the two "lossless-format" codecs: 16-bit IEEE half (round-to-nearest-even, finite
// overflow saturated at +-65504, see half.ts) and raw little-endian float32. Their frames carry
// values, not scales, so every value is checked finite before anything is decoded or added.
import { FrameError, type FrameHeader, FRAME_HEADER_BYTES } from './frame';
import { halfBitsFromFloat32Bits, halfTable } from './half';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeHalfPayload(x: Float32Array, out: Uint8Array, offset: number): void {
  const raw = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0, o = offset; i < raw.length; i++, o += 2) {
    const h = halfBitsFromFloat32Bits(raw[i]);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
  }
}

export function encodeFloat32Payload(x: Float32Array, out: Uint8Array, offset: number): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(x.buffer, x.byteOffset, 4 * x.length), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, 4 * x.length);
  for (let i = 0; i < x.length; i++) view.setFloat32(4 * i, x[i], true);
}

/** The float32 payload as a Float32Array: a view when aligned on a little-endian host, else a copy. */
export function float32Payload(frame: Uint8Array, h: FrameHeader): Float32Array {
  const start = frame.byteOffset + FRAME_HEADER_BYTES;
  if (LITTLE_ENDIAN && start % 4 === 0) return new Float32Array(frame.buffer, start, h.length);
  const copy = new Float32Array(h.length);
  if (LITTLE_ENDIAN) {
    new Uint8Array(copy.buffer).set(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 4 * h.length));
  } else {
    const view = new DataView(frame.buffer, start, 4 * h.length);
    for (let i = 0; i < h.length; i++) copy[i] = view.getFloat32(4 * i, true);
  }
  return copy;
}

/**
 * Squared L2 norm of the values, which doubles as the finiteness check: in float64 the sum of
 * squares of finite float32 (or half) values cannot overflow, so it is finite iff every value is.
 */
export function checkLosslessPayload(frame: Uint8Array, h: FrameHeader, values: Float32Array | null): number {
  let normSq = 0;
  if (h.codec === 'half') {
    const t = halfTable();
    for (let i = 0, o = FRAME_HEADER_BYTES; i < h.length; i++, o += 2) {
      const v = t[frame[o] | (frame[o + 1] << 8)];
      normSq += v * v;
    }
  } else {
    const x = values ?? float32Payload(frame, h);
    for (let i = 0; i < x.length; i++) normSq += x[i] * x[i];
  }
  if (!Number.isFinite(normSq)) throw badValue(frame, h, values);
  return normSq;
}

function badValue(frame: Uint8Array, h: FrameHeader, values: Float32Array | null): FrameError {
  const x = h.codec === 'half' ? decodeHalf(frame, h) : (values ?? float32Payload(frame, h));
  const i = x.findIndex((v) => !Number.isFinite(v));
  return new FrameError('value', `value ${i} of the ${h.bits}-bit payload is ${x[i]}, expected a finite number`);
}

function decodeHalf(frame: Uint8Array, h: FrameHeader): Float32Array {
  const out = new Float32Array(h.length);
  const t = halfTable();
  for (let i = 0, o = FRAME_HEADER_BYTES; i < h.length; i++, o += 2) out[i] = t[frame[o] | (frame[o + 1] << 8)];
  return out;
}

/** out[i] = value i. The frame must have passed checkFrame and checkLosslessPayload. */
export function decodeLosslessInto(frame: Uint8Array, h: FrameHeader, out: Float32Array): void {
  if (h.codec === 'half') {
    const t = halfTable();
    for (let i = 0, o = FRAME_HEADER_BYTES; i < h.length; i++, o += 2) out[i] = t[frame[o] | (frame[o + 1] << 8)];
  } else {
    out.set(float32Payload(frame, h));
  }
}

/** sum[i] += factor * value i. The frame must have passed checkFrame and checkLosslessPayload. */
export function accumulateLossless(frame: Uint8Array, h: FrameHeader, sum: Float64Array, factor: number, values: Float32Array | null): void {
  if (h.codec === 'half') {
    const t = halfTable();
    for (let i = 0, o = FRAME_HEADER_BYTES; i < h.length; i++, o += 2) sum[i] += factor * t[frame[o] | (frame[o + 1] << 8)];
  } else {
    const x = values ?? float32Payload(frame, h);
    for (let i = 0; i < x.length; i++) sum[i] += factor * x[i];
  }
}
