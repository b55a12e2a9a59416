import { describe, expect, it } from 'vitest';
import type { Bits } from '../bits';
import { decodeUpdate, encodeUpdate, inspectFrame } from './codec';
import { DEFAULT_BLOCK_SIZE, frameBytes, readFrameHeader } from './frame';
import { createRng } from '../random/xoshiro';

function gaussian(n: number, seed: number, sd = 1): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = sd * Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  return x;
}

const QUANTIZED: (1 | 2 | 4 | 8)[] = [1, 2, 4, 8];

/** Checks every decoded value is a grid level of its block and within one grid step of the input. */
function expectOnGrid(x: Float32Array, y: Float32Array, bits: number, blockSize: number): void {
  const top = 2 ** bits - 1;
  const bad: string[] = [];
  for (let start = 0; start < x.length; start += blockSize) {
    const end = Math.min(start + blockSize, x.length);
    let s = 0;
    for (let i = start; i < end; i++) s = Math.max(s, Math.abs(x[i]));
    const step = (2 * s) / top;
    for (let i = start; i < end; i++) {
      const c = s === 0 ? 0 : Math.round((y[i] + s) / step);
      const level = s === 0 ? 0 : c * step - s;
      const ok = c >= 0 && c <= top && Math.abs(y[i] - level) <= s * 1e-6 && Math.abs(y[i] - x[i]) <= step * (1 + 1e-6);
      if (!ok && bad.length < 5) bad.push(`i=${i}: x=${x[i]} y=${y[i]} s=${s}`);
    }
  }
  expect(bad, `${bits} bits, block ${blockSize}`).toEqual([]);
}

describe('encodeUpdate / decodeUpdate', () => {
  it('32 bits round-trips bit for bit, including -0, subnormals and extremes', () => {
    const x = new Float32Array([0, -0, 1e-45, -3.4028234663852886e38, 3.4028234663852886e38, Math.PI, -1e-40]);
    const y = decodeUpdate(encodeUpdate(x, { bits: 32, round: 0 }));
    expect(new Uint32Array(y.buffer)).toEqual(new Uint32Array(x.buffer));
  });

  it('1-8 bits: every value is a level of its block grid, within one step of the input', () => {
    const x = gaussian(3000, 1);
    x[17] = 40; // an outlier sets its block's scale
    for (const bits of QUANTIZED) {
      for (const blockSize of [64, 100, DEFAULT_BLOCK_SIZE]) {
        const y = decodeUpdate(encodeUpdate(x, { bits, round: 1, blockSize, seed: bits }));
        expectOnGrid(x, y, bits, blockSize);
      }
    }
  });

  it('packs odd lengths and odd block sizes exactly (1, 3, 7, 257, 1001) at every precision', () => {
    for (const n of [1, 3, 7, 8, 9, 257, 1001]) {
      const x = gaussian(n, n);
      for (const bits of [1, 2, 4, 8, 16, 32] as Bits[]) {
        for (const blockSize of [1, 3, 7, 256]) {
          const frame = encodeUpdate(x, { bits, round: n, blockSize, seed: 5 });
          expect(frame.byteLength).toBe(frameBytes(bits, n, blockSize));
          const y = decodeUpdate(frame, { length: n, round: n, bits });
          expect(y.length).toBe(n);
          if (bits <= 8) expectOnGrid(x, y, bits, blockSize);
        }
      }
    }
  });

  it('maps values equal to +-scale to +-scale exactly, even at the float32 extremes', () => {
    const max = 3.4028234663852886e38;
    const tiny = Math.fround(1e-45); // the smallest float32 subnormal as a block scale
    const x = new Float32Array([max, -max, 0, max / 3, tiny, -tiny, 0, tiny]);
    for (const bits of QUANTIZED) {
      const y = decodeUpdate(encodeUpdate(x, { bits, round: 0, blockSize: 4, seed: 9 }));
      expect(y[0]).toBe(max);
      expect(y[1]).toBe(-max);
      expect(y.subarray(2, 4).every((v) => Number.isFinite(v) && Math.abs(v) <= max)).toBe(true);
      expect(y[4]).toBe(tiny);
      expect(y[5]).toBe(-tiny);
      expect(y[7]).toBe(tiny);
    }
  });

  it('handles length 0 and all-zero blocks', () => {
    for (const bits of [1, 2, 4, 8, 16, 32] as Bits[]) {
      const empty = encodeUpdate(new Float32Array(0), { bits, round: 2 });
      expect(empty.byteLength).toBe(frameBytes(bits, 0));
      expect(decodeUpdate(empty, { length: 0 })).toEqual(new Float32Array(0));
    }
    const zeros = decodeUpdate(encodeUpdate(new Float32Array(700), { bits: 2, round: 0 }));
    expect(zeros.every((v) => v === 0)).toBe(true);
  });

  it('is deterministic: same seed, same bytes; another seed, other bytes', () => {
    const x = gaussian(5000, 3);
    for (const bits of QUANTIZED) {
      const a = encodeUpdate(x, { bits, round: 4, seed: 77 });
      expect(encodeUpdate(x, { bits, round: 4, seed: 77 })).toEqual(a);
      expect(encodeUpdate(x, { bits, round: 4, rng: createRng(77) })).toEqual(a);
      expect(encodeUpdate(x, { bits, round: 4, seed: 78 })).not.toEqual(a);
    }
  });

  it('meets the size targets at the default block size (fraction of float32 bytes)', () => {
    const n = 1_000_000;
    expect(frameBytes(2, n) / (4 * n)).toBeLessThanOrEqual(0.066);
    expect(frameBytes(4, n) / (4 * n)).toBeLessThanOrEqual(0.128);
    expect(frameBytes(8, n) / (4 * n)).toBeLessThanOrEqual(0.252);
    expect(frameBytes(16, n)).toBe(24 + 2 * n);
    expect(frameBytes(32, n)).toBe(24 + 4 * n);
  });

  it('writes a header that reads back', () => {
    const frame = encodeUpdate(gaussian(1000, 2), { bits: 4, round: 123456, blockSize: 96, seed: 1 });
    expect(readFrameHeader(frame)).toMatchObject({ version: 1, codec: 'uniform', bits: 4, blockSize: 96, length: 1000, round: 123456, frameBytes: frame.byteLength });
    expect(readFrameHeader(encodeUpdate(new Float32Array(3), { bits: 16, round: 1 }))).toMatchObject({ codec: 'half', blockSize: 0 });
  });

  it('reports the decoded norm without decoding', () => {
    const x = gaussian(2000, 8);
    for (const bits of [1, 2, 4, 8, 16, 32] as Bits[]) {
      const frame = encodeUpdate(x, { bits, round: 0, blockSize: 100, seed: 1 });
      const y = decodeUpdate(frame);
      const want = y.reduce((a, v) => a + v * v, 0);
      expect(Math.abs(inspectFrame(frame, {}, { normSq: true }).normSq! - want)).toBeLessThanOrEqual(1e-6 * want);
    }
  });

  it('refuses non-finite updates and bad options when encoding', () => {
    expect(() => encodeUpdate(new Float32Array([1, NaN]), { bits: 4, round: 0 })).toThrow(/update\[1\] is NaN/);
    expect(() => encodeUpdate(new Float32Array([Infinity]), { bits: 32, round: 0 })).toThrow(RangeError);
    expect(() => encodeUpdate(new Float32Array(4), { bits: 3 as Bits, round: 0 })).toThrow(/bits/);
    expect(() => encodeUpdate(new Float32Array(4), { bits: 4, round: -1 })).toThrow(/round/);
    expect(() => encodeUpdate(new Float32Array(4), { bits: 4, round: 0, blockSize: 0 })).toThrow(/blockSize/);
  });
});
