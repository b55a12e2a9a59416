// Unbiased stochastic uniform quantization with a per-block scale, after QSGD (Alistarh et al.,
// "QSGD: Communication-Efficient SGD via Gradient Quantization and Encoding", NeurIPS 2017,
// arXiv 1610.02132), with the max-abs block scale of its practical variant.
//
// Each block of `blockSize` values gets s = max|x| (stored as float32, and the very value used to
// quantize, so unbiasedness holds w.r.t. what the decoder reads). The grid has 2^n levels
// s * (2c - L) / L, c = 0..L, L = 2^n - 1, from -s to +s (1 bit: {-s, +s}). A value between levels
// c and c+1 at fraction p of the way goes up with probability p, so E[Q(x)] = x and the per-element
// variance is p(1-p) * step^2 <= step^2 / 4, step = 2s / L.
//
// The accumulate kernel runs once per element of every update the server receives: one loop per
// bit width, a whole byte of codes at a time, the aggregation weight folded into each block's
// scale, no calls in the inner loops.
import { blockCount, codeBytes, FrameError, type FrameHeader, FRAME_HEADER_BYTES } from './frame';
import type { Rng } from '../random/xoshiro';

export type UniformBits = 1 | 2 | 4 | 8;

const TWO_POW_MINUS_32 = 2 ** -32;
const FLOAT32_MAX = 3.4028234663852886e38;

/** Normalised level values (2c - L) / L in [-1, 1], c = 0..2^n - 1, per bit width. */
const LEVELS: Record<UniformBits, Float64Array> = { 1: levels(1), 2: levels(2), 4: levels(4), 8: levels(8) };
/** Per byte, the sum of the squared normalised levels of the codes it packs (for norms). */
const BYTE_SQ: Record<UniformBits, Float64Array> = { 1: byteSq(1), 2: byteSq(2), 4: byteSq(4), 8: byteSq(8) };

function levels(bits: number): Float64Array {
  const top = (1 << bits) - 1;
  const t = new Float64Array(1 << bits);
  for (let c = 0; c <= top; c++) t[c] = (2 * c - top) / top;
  return t;
}

function byteSq(bits: UniformBits): Float64Array {
  const t = new Float64Array(256);
  const lv = levels(bits);
  const mask = (1 << bits) - 1;
  for (let v = 0; v < 256; v++) {
    let acc = 0;
    for (let k = 0; k < 8; k += bits) acc += lv[(v >>> k) & mask] ** 2;
    t[v] = acc;
  }
  return t;
}

function scaleView(frame: Uint8Array, blocks: number): DataView {
  return new DataView(frame.buffer, frame.byteOffset + FRAME_HEADER_BYTES, 4 * blocks);
}

/**
 * Quantizes x into out[offset..]: block scales, then packed codes. `out` must be zero-filled (pad
 * bits and all-zero blocks are left as they are).
 */
export function encodeUniformPayload(x: Float32Array, bits: UniformBits, blockSize: number, rng: Rng, out: Uint8Array, offset: number): void {
  const n = x.length;
  const top = (1 << bits) - 1;
  const blocks = blockCount(n, blockSize);
  const scales = new DataView(out.buffer, out.byteOffset + offset, 4 * blocks);
  const rand = new Uint32Array(Math.min(blockSize, n));
  let o = offset + 4 * blocks;
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    let s = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(x[i]);
      if (a > s) s = a;
    }
    scales.setFloat32(4 * b, s, true);
    if (s === 0) {
      o += codeBytes(end - start, bits);
      continue;
    }
    rng.fillUint32(rand, end - start);
    // u = (x + s) * L / (2s) is the position on the grid in steps; float64 keeps it exact enough
    // that the rounding probability is p to within 2^-32.
    const perStep = top / (2 * s);
    let acc = 0;
    let shift = 0;
    for (let i = start, k = 0; i < end; i++, k++) {
      const u = (x[i] + s) * perStep;
      let lo = u | 0;
      if (lo >= top) lo = top - 1; // u == L (x == s) rounds up with p = 1
      // Up with probability p = u - lo: floor(r - p) is -1 iff r < p. Branch-free on purpose:
      // a data-dependent branch on a random number mispredicts half the time (2x slower).
      const code = lo - Math.floor(rand[k] * TWO_POW_MINUS_32 - (u - lo));
      acc |= code << shift;
      shift += bits;
      if (shift === 8) {
        out[o++] = acc;
        acc = 0;
        shift = 0;
      }
    }
    if (shift !== 0) out[o++] = acc;
  }
}

/**
 * Checks every block scale (finite, >= 0) and the last block's pad bits; returns the squared L2 norm
 * of the decoded update when asked (a streaming pass over the codes, nothing decoded).
 */
export function checkUniformPayload(frame: Uint8Array, h: FrameHeader, wantNormSq: boolean): number | undefined {
  const bits = h.bits as UniformBits;
  const { length: n, blockSize } = h;
  const blocks = blockCount(n, blockSize);
  const scales = scaleView(frame, blocks);
  for (let b = 0; b < blocks; b++) {
    const s = scales.getFloat32(4 * b, true);
    if (!(s >= 0 && s <= FLOAT32_MAX)) {
      throw new FrameError('scale', `block ${b} has scale ${s}, expected a finite number >= 0`);
    }
  }
  if (n > 0) {
    const lastCount = n - (blocks - 1) * blockSize;
    const usedBits = (lastCount * bits) & 7;
    if (usedBits !== 0 && frame[frame.length - 1] >>> usedBits !== 0) {
      throw new FrameError('payload', `the last byte's ${8 - usedBits} pad bits are not zero`);
    }
  }
  if (!wantNormSq) return undefined;
  const sq = BYTE_SQ[bits];
  const lv = LEVELS[bits];
  const mask = (1 << bits) - 1;
  const perByte = 8 / bits;
  let o = FRAME_HEADER_BYTES + 4 * blocks;
  let normSq = 0;
  for (let b = 0; b < blocks; b++) {
    const count = Math.min(blockSize, n - b * blockSize);
    const full = Math.floor(count / perByte);
    let acc = 0;
    for (let k = 0; k < full; k++) acc += sq[frame[o + k]];
    o += full;
    const rest = count - full * perByte;
    if (rest > 0) {
      const v = frame[o++];
      for (let r = 0; r < rest; r++) acc += lv[(v >>> (r * bits)) & mask] ** 2;
    }
    const s = scales.getFloat32(4 * b, true);
    normSq += s * s * acc;
  }
  return normSq;
}

// Scratch for one block's level values; the kernels are synchronous, so sharing it is safe.
const T = new Float64Array(256);

/** out[i] = decoded value i. The frame must have passed checkFrame and checkUniformPayload. */
export function decodeUniformInto(frame: Uint8Array, h: FrameHeader, out: Float32Array): void {
  // Decoding is accumulating into zeros with weight 1, but a separate Float32Array kernel keeps
  // the aggregator's Float64Array kernel monomorphic (and so fast).
  const bits = h.bits as UniformBits;
  const { length: n, blockSize } = h;
  const blocks = blockCount(n, blockSize);
  const scales = scaleView(frame, blocks);
  const lv = LEVELS[bits];
  const mask = (1 << bits) - 1;
  const perByte = 8 / bits;
  let o = FRAME_HEADER_BYTES + 4 * blocks;
  let i = 0;
  for (let b = 0; b < blocks; b++) {
    const count = Math.min(blockSize, n - i);
    const s = scales.getFloat32(4 * b, true);
    for (let c = 0; c <= mask; c++) T[c] = s * lv[c];
    const full = Math.floor(count / perByte);
    const stop = o + full;
    for (; o < stop; o++) {
      let v = frame[o];
      for (let r = 0; r < perByte; r++) {
        out[i++] = T[v & mask];
        v >>>= bits;
      }
    }
    const rest = count - full * perByte;
    if (rest > 0) {
      let v = frame[o++];
      for (let r = 0; r < rest; r++) {
        out[i++] = T[v & mask];
        v >>>= bits;
      }
    }
  }
}

/**
 * sum[i] += factor * decoded value i, straight from the packed codes. The frame must have passed
 * checkFrame and checkUniformPayload: this is the only step that writes, and it cannot fail.
 */
export function accumulateUniform(frame: Uint8Array, h: FrameHeader, sum: Float64Array, factor: number): void {
  const bits = h.bits as UniformBits;
  const { length: n, blockSize } = h;
  const blocks = blockCount(n, blockSize);
  const scales = scaleView(frame, blocks);
  const mask = (1 << bits) - 1;
  const perByte = 8 / bits;
  let o = FRAME_HEADER_BYTES + 4 * blocks;
  let i = 0;
  for (let b = 0; b < blocks; b++) {
    const count = Math.min(blockSize, n - i);
    // Level c is f * (2c - L) / L = c * step - f: affine in the code, so no table to rebuild per
    // block and one multiply-add per element (within an ulp of decodeUniformInto's values).
    const f = factor * scales.getFloat32(4 * b, true);
    const step = (2 * f) / mask;
    const full = Math.floor(count / perByte);
    const stop = o + full;
    if (bits === 4) {
      for (; o < stop; o++, i += 2) {
        const v = frame[o];
        sum[i] += (v & 15) * step - f;
        sum[i + 1] += (v >>> 4) * step - f;
      }
    } else if (bits === 8) {
      for (; o < stop; o++, i++) sum[i] += frame[o] * step - f;
    } else if (bits === 2) {
      for (; o < stop; o++, i += 4) {
        const v = frame[o];
        sum[i] += (v & 3) * step - f;
        sum[i + 1] += ((v >>> 2) & 3) * step - f;
        sum[i + 2] += ((v >>> 4) & 3) * step - f;
        sum[i + 3] += (v >>> 6) * step - f;
      }
    } else {
      for (; o < stop; o++, i += 8) {
        const v = frame[o];
        sum[i] += (v & 1) * step - f;
        sum[i + 1] += ((v >>> 1) & 1) * step - f;
        sum[i + 2] += ((v >>> 2) & 1) * step - f;
        sum[i + 3] += ((v >>> 3) & 1) * step - f;
        sum[i + 4] += ((v >>> 4) & 1) * step - f;
        sum[i + 5] += ((v >>> 5) & 1) * step - f;
        sum[i + 6] += ((v >>> 6) & 1) * step - f;
        sum[i + 7] += (v >>> 7) * step - f;
      }
    }
    const rest = count - full * perByte;
    if (rest > 0) {
      let v = frame[o++];
      for (let r = 0; r < rest; r++) {
        sum[i++] += (v & mask) * step - f;
        v >>>= bits;
      }
    }
  }
}
