import { describe, expect, it } from 'vitest';
import { decodeDataset, DatasetFormatError, encodeDataset } from './format';
import type { ImageDataset } from './types';

function sample(): ImageDataset {
  const count = 5;
  const pixels = Uint8Array.from({ length: count * 3 * 2 * 3 }, (_, i) => (i * 37) % 256);
  return {
    name: 'emoji', width: 2, height: 3, channels: 3, count, pixels,
    labels: Int32Array.from([0, 4, 2, 2, 1]), groups: Int32Array.from([0, 1, 2, 3, 0]),
    groupNames: ['apple', 'google', 'twitter', 'facebook'], classNames: ['a', 'b', 'c', 'd', 'e'],
  };
}

describe('dataset binary format', () => {
  it('round-trips every field', () => {
    const ds = sample();
    const back = decodeDataset(encodeDataset(ds));
    expect(back).toEqual(ds);
  });

  it('round-trips a dataset without groups or names, with a non-multiple-of-4 pixel count', () => {
    const ds: ImageDataset = { name: 'mnist', width: 3, height: 3, channels: 1, count: 3, pixels: Uint8Array.from({ length: 27 }, (_, i) => i), labels: Int32Array.from([9, 0, 5]) };
    const back = decodeDataset(encodeDataset(ds));
    expect(back).toEqual(ds);
    expect(back.groups).toBeUndefined();
  });

  it('rejects truncated bytes, saying so', () => {
    const bytes = encodeDataset(sample());
    expect(() => decodeDataset(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeDataset(bytes.subarray(0, 10))).toThrow(DatasetFormatError);
  });

  it('rejects a flipped payload byte by checksum and a wrong magic by name', () => {
    const bytes = encodeDataset(sample());
    const corrupt = bytes.slice();
    corrupt[30] ^= 0xff;
    expect(() => decodeDataset(corrupt)).toThrow(/checksum/);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 'X'.charCodeAt(0);
    expect(() => decodeDataset(wrongMagic)).toThrow(/magic/);
    const wrongVersion = bytes.slice();
    wrongVersion[4] = 9;
    expect(() => decodeDataset(wrongVersion)).toThrow(/version 9/);
  });

  it('refuses to encode inconsistent arrays', () => {
    expect(() => encodeDataset({ ...sample(), labels: new Int32Array(2) })).toThrow(/labels/);
  });
});
