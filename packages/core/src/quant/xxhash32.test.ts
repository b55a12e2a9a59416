import { describe, expect, it } from 'vitest';
import { xxhash32 } from './xxhash32';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('xxhash32', () => {
  it('matches the reference test vectors', () => {
    expect(xxhash32(bytes(''))).toBe(0x02cc5d05);
    expect(xxhash32(bytes('a'))).toBe(0x550d7456);
    expect(xxhash32(bytes('abc'))).toBe(0x32d153ff);
    const long = bytes('Nobody inspects the spammish repetition');
    expect(xxhash32(long)).toBe(0xe2293b2f);
    expect(xxhash32(long, 0, long.length, 123)).toBe(0xfa7f6052);
    expect(xxhash32(long, 0, long.length, 1234)).toBe(0x298ce4e5);
  });

  it('gives the same hash for a range at any alignment', () => {
    const data = new Uint8Array(1003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    const want = xxhash32(data.slice(3, 1000));
    expect(xxhash32(data, 3, 1000)).toBe(want);
    const shifted = new Uint8Array(new ArrayBuffer(1001), 1).subarray(0, 997);
    shifted.set(data.subarray(3, 1000));
    expect(xxhash32(shifted)).toBe(want);
  });
});
