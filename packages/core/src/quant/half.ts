// IEEE 754 binary16 ("half") conversion for the 16-bit codec: float32 -> half with
// round-to-nearest-even, half -> float32 exactly. Finite float32 values beyond the half range
// saturate at +-65504 (HALF_MAX) instead of becoming +-Inf: an update component that large is an
// outlier, and a clamped value keeps the aggregate finite where an Inf would poison it.
// (Node 20 has no Math.f16round / Float16Array, so this is done with integer bit operations.)

/** Largest finite half value. */
export const HALF_MAX = 65504;

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Half bits of a float32 given as its raw bits, rounded to nearest even. Finite overflow saturates
 * to +-65504; +-Inf stays +-Inf and NaN stays a quiet NaN (the encoder refuses both beforehand).
 */
export function halfBitsFromFloat32Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const a = f & 0x7fffffff;
  if (a >= 0x7f800000) return sign | (a === 0x7f800000 ? 0x7c00 : 0x7e00);
  // 0x477ff000 = 65520: from here round-to-nearest would give Inf; below it, at most 65504.
  if (a >= 0x477ff000) return sign | 0x7bff;
  if (a >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits;
    // a carry out of the mantissa correctly bumps the exponent.
    return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  }
  // 0x33000000 = 2^-25, exactly half the smallest subnormal: the tie goes to even, i.e. zero.
  if (a <= 0x33000000) return sign;
  // Subnormal half: value / 2^-24 rounded to nearest even; 0x400 (a carry) is the smallest normal.
  const e = a >>> 23;
  const m = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (h & 1) === 1)) h++;
  return sign | h;
}

/** Half bits of a number after rounding it to float32 (the codec's input is float32). */
export function float32ToHalfBits(x: number): number {
  F32[0] = x;
  return halfBitsFromFloat32Bits(U32[0]);
}

/** The float32 value of half bits h (exact: every half is a float32). */
export function halfBitsToFloat32(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 0x1f) return man === 0 ? sign * Infinity : NaN;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

let table: Float32Array | null = null;

/** All 65536 half values as float32, built on first use (256 KiB): one load per decoded value. */
export function halfTable(): Float32Array {
  if (table === null) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfBitsToFloat32(h);
  }
  return table;
}
