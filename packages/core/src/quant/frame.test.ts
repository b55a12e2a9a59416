import { describe, expect, it } from 'vitest';
import { decodeUpdate, encodeUpdate } from './codec';
import { FrameError, frameChecksum, readFrameHeader, type FrameExpectation, type FrameField } from './frame';

const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * (1 + (i % 13)));
const good = (bits: 1 | 2 | 4 | 8 | 16 | 32 = 4, n = x.length) => encodeUpdate(x.subarray(0, n), { bits, round: 5, blockSize: 64, seed: 1 });

function tamper(frame: Uint8Array, edit: (view: DataView) => void, reseal = false): Uint8Array {
  const copy = frame.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  if (reseal) view.setUint32(20, frameChecksum(copy), true);
  return copy;
}

function expectRefused(frame: Uint8Array, field: FrameField, expect_: FrameExpectation = {}): FrameError {
  let caught: unknown;
  try {
    decodeUpdate(frame, expect_);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FrameError);
  const error = caught as FrameError;
  expect(error).toBeInstanceOf(Error);
  expect(error.field).toBe(field);
  return error;
}

describe('decodeUpdate refuses malformed frames with a FrameError naming the field', () => {
  it('accepts the untouched frames', () => {
    for (const bits of [1, 2, 4, 8, 16, 32] as const) expect(decodeUpdate(good(bits), { length: 1000, round: 5, bits })).toHaveLength(1000);
  });

  it('truncated header', () => expect(expectRefused(good().subarray(0, 10), 'header').message).toMatch(/24-byte header/));
  it('truncated payload', () => expect(expectRefused(good().subarray(0, good().length - 1), 'payload').message).toMatch(/truncated.*expected|exactly/));
  it('extra bytes', () => {
    const f = good();
    const longer = new Uint8Array(f.length + 3);
    longer.set(f);
    expect(expectRefused(longer, 'payload').message).toMatch(/extra bytes/);
  });
  it('wrong magic', () => expectRefused(tamper(good(), (v) => v.setUint8(0, 0x47)), 'magic'));
  it('wrong version', () => expect(expectRefused(tamper(good(), (v) => v.setUint8(4, 2)), 'version').message).toMatch(/version 2.*version 1/));
  it('unknown codec', () => expectRefused(tamper(good(), (v) => v.setUint8(5, 9)), 'codec'));
  it('bits that do not fit the codec', () => {
    expectRefused(tamper(good(4), (v) => v.setUint8(6, 3)), 'bits');
    expectRefused(tamper(good(4), (v) => v.setUint8(6, 16)), 'bits');
    expectRefused(tamper(good(32), (v) => v.setUint8(6, 16)), 'bits');
  });
  it('non-zero reserved byte', () => expectRefused(tamper(good(), (v) => v.setUint8(7, 1)), 'header'));
  it('zero block size, or a block size on a lossless codec', () => {
    expectRefused(tamper(good(4), (v) => v.setUint32(8, 0, true)), 'blockSize');
    expectRefused(tamper(good(16), (v) => v.setUint32(8, 64, true)), 'blockSize');
  });
  it('length mismatch against the expectation', () => expect(expectRefused(good(), 'length', { length: 999 }).message).toMatch(/1000 values, expected 999/));
  it('a length field that disagrees with the bytes', () => expectRefused(tamper(good(8), (v) => v.setUint32(12, 1001, true)), 'payload'));
  it('wrong round', () => expectRefused(good(), 'round', { round: 6 }));
  it('wrong precision against the expectation', () => expectRefused(good(4), 'bits', { bits: 8 }));
  it('a flipped payload byte fails the checksum', () => {
    for (const bits of [1, 4, 16, 32] as const) {
      const f = good(bits);
      expectRefused(tamper(f, (v) => v.setUint8(f.length - 7, v.getUint8(f.length - 7) ^ 0x10)), 'checksum');
    }
  });
  it('a changed round field fails the checksum (the header is covered too)', () => {
    expectRefused(tamper(good(), (v) => v.setUint32(16, 6, true)), 'checksum');
  });
  it('NaN, infinite or negative scale, checksum recomputed', () => {
    expectRefused(tamper(good(4), (v) => v.setFloat32(24 + 4 * 3, NaN, true), true), 'scale');
    expectRefused(tamper(good(2), (v) => v.setFloat32(24, Infinity, true), true), 'scale');
    expect(expectRefused(tamper(good(1), (v) => v.setFloat32(24 + 4, -1, true), true), 'scale').message).toMatch(/block 1.*expected/);
  });
  it('Inf or NaN in a 32-bit payload and in a 16-bit payload, checksum recomputed', () => {
    expect(expectRefused(tamper(good(32), (v) => v.setFloat32(24 + 4 * 10, Infinity, true), true), 'value').message).toMatch(/value 10/);
    expectRefused(tamper(good(32), (v) => v.setFloat32(24, NaN, true), true), 'value');
    expectRefused(tamper(good(16), (v) => v.setUint16(24 + 2 * 5, 0x7c00, true), true), 'value');
    expectRefused(tamper(good(16), (v) => v.setUint16(24, 0xfe00, true), true), 'value');
  });
  it('non-zero pad bits after the last code, checksum recomputed', () => {
    const f = good(4, 999); // 999 values: the last byte holds one 4-bit code and 4 pad bits
    expectRefused(tamper(f, (v) => v.setUint8(f.length - 1, v.getUint8(f.length - 1) | 0x80), true), 'payload');
  });
  it('readFrameHeader checks the header alone', () => {
    const f = good();
    expect(readFrameHeader(f.subarray(0, 24)).length).toBe(1000);
    expect(() => readFrameHeader(tamper(f, (v) => v.setUint8(4, 0)))).toThrow(FrameError);
  });
});
