// The style Fréchet distance on real held-out emoji, with the committed classifier: the same
// style scores small, another style larger, noise far larger; and styleFid checks its input.
import { describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { styleFid, styleReferenceImages } from './style-node';

const per = 32 * 32 * 3;
const every = (src: { images: Float32Array; count: number }, from: number, n: number): Float32Array => {
  const out = new Float32Array(n * per);
  for (let k = 0; k < n; k++) out.set(src.images.subarray((from + 2 * k) * per, (from + 2 * k + 1) * per), k * per);
  return out;
};

describe('the style Fréchet distance', () => {
  it('is small for the same style, larger for another, largest for noise', async () => {
    await initBackend('wasm');
    const apple = await styleReferenceImages('apple');
    const twitter = await styleReferenceImages('twitter');
    expect(apple.count).toBe(twitter.count);
    const n = 150;
    // Images of apple's held-out part against the whole part (they are in it: an optimistic floor).
    const same = await styleFid(every(apple, 0, n), 'apple');
    const other = await styleFid(every(twitter, 0, n), 'apple');
    let s = 3;
    const noise = await styleFid(Float32Array.from({ length: n * per }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)), 'apple');
    expect(same).toBeLessThan(other / 3);
    expect(other).toBeLessThan(noise);
    // the reverse: twitter's own images are closer to twitter than apple's are
    expect(await styleFid(every(twitter, 1, n), 'twitter')).toBeLessThan(await styleFid(every(apple, 1, n), 'twitter'));
  });

  it('refuses unknown vendors, too few images and non-finite pixels, saying so', async () => {
    const img = new Float32Array(4 * per).fill(0.5);
    await expect(styleFid(img, 'apple,snapchat')).rejects.toThrow(/unknown vendor "snapchat"; expected names from apple, google, twitter, facebook/);
    await expect(styleFid(img.subarray(0, per), 'apple')).rejects.toThrow(/at least 2 images of 32x32x3/);
    img[5] = Number.NaN;
    await expect(styleFid(img, 'apple')).rejects.toThrow(/value 5 of the samples is NaN/);
  });
});
