// AssemblyScript (compiled to WebAssembly with 128-bit SIMD by packages/server/src/merge/build.ts):
// the server's merge kernel. sum[i] += factor * (decoded value i) for frames of the stochastic
// uniform codec (packages/core/src/quant/uniform.ts, after QSGD, Alistarh et al., arXiv 1610.02132)
// at 1, 2, 4 and 8 bits, straight from the packed codes.
//
// Bit for bit the JavaScript kernel (accumulateUniform): per block f = factor * scale,
// step = 2f / (2^bits - 1), and each element adds (code * step - f) to its float64 sum, the same
// three IEEE operations in the same order (WebAssembly has no fused multiply-add to reorder them).
// What SIMD buys: codes widened 16 at a time and two float64 lanes per operation. What the batch
// buys (mergeBatch): the frames waiting are merged a chunk of blocks at a time, so the chunk's
// float64 sum stays in the L1 cache across frames and memory sees the sum once per batch instead
// of once per frame.
//
// Memory is laid out by the host (packages/server/src/merge/wasm-kernel.ts): the sum, the frame
// payloads (scales then codes, as in the frame after its 24-byte header) and the batch descriptors.

/** One frame of a batch: 16 bytes at desc + 16k. */
// f64 factor @0, u32 payload pointer @8, u32 bits @12

@inline function acc2(dst: usize, d: v128, step: v128, f: v128): void {
  // d: four int32 codes; two float64 lanes at a time.
  const a = f64x2.convert_low_i32x4_s(d);
  const b = f64x2.convert_low_i32x4_s(i8x16.shuffle(d, d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  v128.store(dst, f64x2.add(v128.load(dst), f64x2.sub(f64x2.mul(a, step), f)));
  v128.store(dst, f64x2.add(v128.load(dst, 16), f64x2.sub(f64x2.mul(b, step), f)), 16);
}

/** Sixteen codes (one per byte of e, element order) into sum[0..16). */
@inline function acc16(dst: usize, e: v128, step: v128, f: v128): void {
  const w0 = i16x8.extend_low_i8x16_u(e);
  const w1 = i16x8.extend_high_i8x16_u(e);
  acc2(dst, i32x4.extend_low_i16x8_u(w0), step, f);
  acc2(dst + 32, i32x4.extend_high_i16x8_u(w0), step, f);
  acc2(dst + 64, i32x4.extend_low_i16x8_u(w1), step, f);
  acc2(dst + 96, i32x4.extend_high_i16x8_u(w1), step, f);
}

/** The scalar tail, exactly as the JavaScript kernel: `count` elements from the bytes at p. */
@inline function tail(dst: usize, p: usize, count: i32, bits: i32, step: f64, f: f64): void {
  const mask = (1 << bits) - 1;
  let v: i32 = 0;
  let left: i32 = 0;
  for (let k = 0; k < count; k++) {
    if (left == 0) {
      v = <i32>load<u8>(p++);
      left = 8 / bits;
    }
    const d = dst + (<usize>k << 3);
    store<f64>(d, load<f64>(d) + (<f64>(v & mask) * step - f));
    v >>>= bits;
    left--;
  }
}

function block8(dst: usize, p: usize, count: i32, step: f64, f: f64): void {
  const sv = f64x2.splat(step);
  const fv = f64x2.splat(f);
  const full = count >> 4;
  for (let j = 0; j < full; j++) {
    acc16(dst, v128.load(p), sv, fv);
    p += 16;
    dst += 128;
  }
  tail(dst, p, count & 15, 8, step, f);
}

function block4(dst: usize, p: usize, count: i32, step: f64, f: f64): void {
  const sv = f64x2.splat(step);
  const fv = f64x2.splat(f);
  const lowNibble = i8x16.splat(15);
  const full = count >> 5;
  for (let j = 0; j < full; j++) {
    const v = v128.load(p);
    const lo = v128.and(v, lowNibble);
    const hi = i8x16.shr_u(v, 4);
    acc16(dst, i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), sv, fv);
    acc16(dst + 128, i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), sv, fv);
    p += 16;
    dst += 256;
  }
  tail(dst, p, count & 31, 4, step, f);
}

function block2(dst: usize, p: usize, count: i32, step: f64, f: f64): void {
  const sv = f64x2.splat(step);
  const fv = f64x2.splat(f);
  const three = i8x16.splat(3);
  const full = count >> 6;
  for (let j = 0; j < full; j++) {
    const v = v128.load(p);
    const c0 = v128.and(v, three);
    const c1 = v128.and(i8x16.shr_u(v, 2), three);
    const c2 = v128.and(i8x16.shr_u(v, 4), three);
    const c3 = i8x16.shr_u(v, 6);
    // Byte j holds elements 4j..4j+3: interleave bytes, then pairs of bytes.
    const a01 = i8x16.shuffle(c0, c1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a23 = i8x16.shuffle(c2, c3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const b01 = i8x16.shuffle(c0, c1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const b23 = i8x16.shuffle(c2, c3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    acc16(dst, i8x16.shuffle(a01, a23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), sv, fv);
    acc16(dst + 128, i8x16.shuffle(a01, a23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), sv, fv);
    acc16(dst + 256, i8x16.shuffle(b01, b23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), sv, fv);
    acc16(dst + 384, i8x16.shuffle(b01, b23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), sv, fv);
    p += 16;
    dst += 512;
  }
  tail(dst, p, count & 63, 2, step, f);
}

@inline function bit(v: v128, k: i32): v128 {
  return v128.and(i8x16.shr_u(v, k), i8x16.splat(1));
}

function block1(dst: usize, p: usize, count: i32, step: f64, f: f64): void {
  const sv = f64x2.splat(step);
  const fv = f64x2.splat(f);
  const full = count >> 7;
  for (let j = 0; j < full; j++) {
    const v = v128.load(p);
    // Byte j holds elements 8j..8j+7: a transpose of the eight bit planes, in three rounds.
    const c0 = bit(v, 0), c1 = bit(v, 1), c2 = bit(v, 2), c3 = bit(v, 3);
    const c4 = bit(v, 4), c5 = bit(v, 5), c6 = bit(v, 6), c7 = bit(v, 7);
    const a01l = i8x16.shuffle(c0, c1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a23l = i8x16.shuffle(c2, c3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a45l = i8x16.shuffle(c4, c5, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a67l = i8x16.shuffle(c6, c7, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const a01h = i8x16.shuffle(c0, c1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const a23h = i8x16.shuffle(c2, c3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const a45h = i8x16.shuffle(c4, c5, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const a67h = i8x16.shuffle(c6, c7, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    // bytes 0-3, 4-7 (low halves) and 8-11, 12-15 (high halves), four bit planes each
    const b0 = i8x16.shuffle(a01l, a23l, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const b1 = i8x16.shuffle(a01l, a23l, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const d0 = i8x16.shuffle(a45l, a67l, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const d1 = i8x16.shuffle(a45l, a67l, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const b2 = i8x16.shuffle(a01h, a23h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const b3 = i8x16.shuffle(a01h, a23h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const d2 = i8x16.shuffle(a45h, a67h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const d3 = i8x16.shuffle(a45h, a67h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    // all eight bit planes of two bytes: 16 elements
    acc16(dst, i8x16.shuffle(b0, d0, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), sv, fv);
    acc16(dst + 128, i8x16.shuffle(b0, d0, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), sv, fv);
    acc16(dst + 256, i8x16.shuffle(b1, d1, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), sv, fv);
    acc16(dst + 384, i8x16.shuffle(b1, d1, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), sv, fv);
    acc16(dst + 512, i8x16.shuffle(b2, d2, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), sv, fv);
    acc16(dst + 640, i8x16.shuffle(b2, d2, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), sv, fv);
    acc16(dst + 768, i8x16.shuffle(b3, d3, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), sv, fv);
    acc16(dst + 896, i8x16.shuffle(b3, d3, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), sv, fv);
    p += 16;
    dst += 1024;
  }
  tail(dst, p, count & 127, 1, step, f);
}

/** Blocks [b0, b1) of one frame (payload at `payload`: scales, then codes) into the sum. */
function frameBlocks(sum: usize, payload: usize, bits: i32, n: i32, blockSize: i32, b0: i32, b1: i32, factor: f64): void {
  const blocks = (n + blockSize - 1) / blockSize;
  const codeBytes = <usize>((blockSize * bits + 7) >> 3);
  const codes = payload + (<usize>blocks << 2);
  const top = <f64>((1 << bits) - 1);
  for (let b = b0; b < b1; b++) {
    const start = b * blockSize;
    const count = min(blockSize, n - start);
    const f = factor * <f64>load<f32>(payload + (<usize>b << 2));
    const step = (2 * f) / top;
    const dst = sum + (<usize>start << 3);
    const p = codes + <usize>b * codeBytes;
    if (bits == 4) block4(dst, p, count, step, f);
    else if (bits == 8) block8(dst, p, count, step, f);
    else if (bits == 2) block2(dst, p, count, step, f);
    else block1(dst, p, count, step, f);
  }
}

/**
 * Adds `count` frames of `n` elements and one block size to the sum, in order: for each chunk of
 * `chunkBlocks` blocks, every frame in turn, so the chunk's sum stays in cache across the frames.
 * Descriptors at `desc`, 16 bytes each: f64 factor, u32 payload pointer, u32 bits.
 */
export function mergeBatch(sum: usize, desc: usize, count: i32, n: i32, blockSize: i32, chunkBlocks: i32): void {
  const blocks = (n + blockSize - 1) / blockSize;
  for (let b0 = 0; b0 < blocks; b0 += chunkBlocks) {
    const b1 = min(blocks, b0 + chunkBlocks);
    for (let k = 0; k < count; k++) {
      const d = desc + (<usize>k << 4);
      frameBlocks(sum, <usize>load<u32>(d, 8), <i32>load<u32>(d, 12), n, blockSize, b0, b1, load<f64>(d));
    }
  }
}
