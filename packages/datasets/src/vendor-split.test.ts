import { describe, expect, it } from 'vitest';
import type { ImageDataset } from './types';
import { vendorSplit } from './vendor-split';

// 4 vendors x 50 symbols, vendor-major like the emoji set; no disk needed.
const symbols = 50;
const ds: ImageDataset = {
  name: 'emoji', width: 1, height: 1, channels: 1, count: 4 * symbols, pixels: new Uint8Array(4 * symbols),
  labels: Int32Array.from({ length: 4 * symbols }, (_, i) => i % 9),
  groups: Int32Array.from({ length: 4 * symbols }, (_, i) => Math.floor(i / symbols)),
  groupNames: ['apple', 'google', 'twitter', 'facebook'],
};

describe('vendorSplit', () => {
  it('holds out the same symbols in every vendor, disjoint from training, the same every time', () => {
    const ag = vendorSplit(ds, 'apple,google');
    const tf = vendorSplit(ds, ['twitter', 'facebook']);
    expect(ag.eval.length).toBe(2 * 10);
    expect(ag.train.length).toBe(2 * 40);
    const heldSymbols = (idx: Int32Array) => [...new Set(Array.from(idx, (i) => i % symbols))].sort((a, b) => a - b);
    expect(heldSymbols(ag.eval)).toEqual(heldSymbols(tf.eval));
    for (const i of ag.train) expect(heldSymbols(ag.eval)).not.toContain(i % symbols);
    for (const i of ag.eval) expect(ds.groups![i]).toBeLessThan(2);
    expect(vendorSplit(ds, 'apple,google')).toEqual(ag);
    expect(heldSymbols(vendorSplit(ds, 'apple', { seed: 5 }).eval)).not.toEqual(heldSymbols(ag.eval));
  });

  it('refuses unknown vendors and a dataset without vendors, saying what it expects', () => {
    expect(() => vendorSplit(ds, 'apple,snapchat')).toThrow(/unknown vendor "snapchat"; expected names from apple, google, twitter, facebook/);
    expect(() => vendorSplit(ds, ' , ')).toThrow(/expected at least one vendor/);
    expect(() => vendorSplit({ ...ds, groups: undefined, groupNames: undefined, name: 'mnist' }, 'apple')).toThrow(/mnist has no vendors/);
  });
});
