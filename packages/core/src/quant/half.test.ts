import { describe, expect, it } from 'vitest';
import { decodeUpdate, encodeUpdate } from './codec';
import { float32ToHalfBits, HALF_MAX, halfBitsToFloat32 } from './half';
import { createRng } from '../random/xoshiro';

/** Independent reference: round |x| to 11 significant bits (10 below 2^-14) in float64, ties to even. */
function refHalf(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (a > HALF_MAX) return sign * HALF_MAX;
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp;
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return sign * r * ulp;
}

const toHalf = (x: number) => halfBitsToFloat32(float32ToHalfBits(x));

describe('float32 -> half', () => {
  it('rounds ties to even in the normal range', () => {
    expect(toHalf(1 + 2 ** -11)).toBe(1); // halfway between 1 and 1 + 2^-10: even is 1
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(1 + 2 * 2 ** -10); // halfway, even is up
    expect(toHalf(1 + 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10); // just above halfway
    expect(toHalf(2047.5)).toBe(2048);
    expect(toHalf(2046.5)).toBe(2046);
  });

  it('handles subnormals, their ties and the carry into the smallest normal', () => {
    expect(toHalf(2 ** -24)).toBe(2 ** -24);
    expect(toHalf(2 ** -25)).toBe(0); // tie with zero: even is zero
    expect(toHalf(2 ** -25 + 2 ** -40)).toBe(2 ** -24);
    expect(toHalf(3 * 2 ** -25)).toBe(2 * 2 ** -24); // tie between 1 and 2 units: even is 2
    expect(toHalf(5 * 2 ** -25)).toBe(2 * 2 ** -24); // tie between 2 and 3 units: even is 2
    expect(toHalf(2 ** -14 - 2 ** -26)).toBe(2 ** -14); // rounds up into the normal range
    expect(Object.is(toHalf(-(2 ** -26)), -0)).toBe(true);
  });

  it('clamps finite overflow to +-65504 instead of Inf', () => {
    expect(toHalf(65504)).toBe(65504);
    expect(toHalf(65519)).toBe(65504);
    expect(toHalf(65520)).toBe(65504); // round-to-nearest would give Inf
    expect(toHalf(-1e10)).toBe(-65504);
    expect(toHalf(3.4e38)).toBe(65504);
  });

  it('matches the float64 reference on 200,000 random float32 bit patterns', () => {
    const rng = createRng(11);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let checked = 0;
    for (let k = 0; k < 200_000; k++) {
      // Bias exponents toward the half range so most samples land where rounding matters.
      u[0] = k % 2 ? rng.nextUint32() : (rng.nextUint32() & 0x80ffffff) | ((98 + (rng.nextUint32() % 48)) << 23);
      const x = f[0];
      if (!Number.isFinite(x)) continue;
      const got = toHalf(x);
      if (!Object.is(got, refHalf(x))) expect.fail(`x = ${x} (0x${u[0].toString(16)}): got ${got}, expected ${refHalf(x)}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(190_000);
  });

  it('the 16-bit codec round trip equals the reference element by element', () => {
    const x = new Float32Array([0, -0, 1, -1, 1 + 2 ** -11, 3 * 2 ** -25, 2 ** -30, 65520, -7e5, 0.1, 1234.5678, -(2 ** -14)]);
    const y = decodeUpdate(encodeUpdate(x, { bits: 16, round: 3 }), { round: 3, length: x.length });
    for (let i = 0; i < x.length; i++) expect(Object.is(y[i], refHalf(x[i]))).toBe(true);
  });
});
