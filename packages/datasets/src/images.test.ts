import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { labelsOf, toFloatImages } from './images';
import { encodePng, imageGrid } from './png';
import { resizeDataset } from './resize';
import type { ImageDataset } from './types';

const ds: ImageDataset = {
  name: 'mnist', width: 4, height: 4, channels: 1, count: 2,
  pixels: Uint8Array.from([...Array(16).fill(255), ...Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 200))]),
  labels: Int32Array.from([3, 7]),
};

describe('resize', () => {
  it('keeps count and labels, changes the shape, and area-averages', () => {
    const small = resizeDataset(ds, 2);
    expect([small.width, small.height, small.count, small.pixels.length]).toEqual([2, 2, 2, 8]);
    expect(Array.from(small.pixels.subarray(0, 4))).toEqual([255, 255, 255, 255]);
    expect(Array.from(small.pixels.subarray(4))).toEqual([0, 200, 0, 200]);
    expect(small.labels).toBe(ds.labels);
  });

  it('handles fractional ratios (28 -> 16 style) preserving the mean', () => {
    const three = resizeDataset({ ...ds, count: 1, pixels: ds.pixels.subarray(16) }, 3);
    expect(three.pixels.length).toBe(9);
    const mean = three.pixels.reduce((a, b) => a + b, 0) / 9;
    expect(mean).toBeCloseTo(100, 0);
  });

  it('grows bilinearly', () => {
    const big = resizeDataset(ds, 8);
    expect(big.pixels.length).toBe(2 * 64);
    expect(big.pixels[0]).toBe(255);
  });
});

describe('toFloatImages / labelsOf', () => {
  it('gathers NHWC floats in [0, 1] and labels', () => {
    const x = toFloatImages(ds, [1, 0]);
    expect(x.length).toBe(32);
    expect(x[2]).toBeCloseTo(200 / 255);
    expect(x[16]).toBe(1);
    expect(Array.from(labelsOf(ds, [1, 0, 1]))).toEqual([7, 3, 7]);
    expect(() => toFloatImages(ds, [2])).toThrow(/outside/);
  });
});

describe('PNG grid', () => {
  it('tiles images and decodes back with fast-png', () => {
    const images = toFloatImages(ds, [0, 1, 0]);
    const grid = imageGrid(images, 3, 4, 4, 1, { cols: 2, pad: 1, scale: 2 });
    expect([grid.width, grid.height]).toEqual([2 * 8 + 3, 2 * 8 + 3]);
    const png = decode(encodePng(grid));
    expect([png.width, png.height, png.channels]).toEqual([grid.width, grid.height, 1]);
    expect(Array.from(png.data)).toEqual(Array.from(grid.pixels));
    expect(png.data[1 * grid.width + 1]).toBe(255); // first image's top-left
    expect(png.data[0]).toBe(128); // border
  });

  it('encodes RGB', () => {
    const rgb = new Float32Array(2 * 2 * 3).fill(0.5);
    const png = decode(encodePng(imageGrid(rgb, 1, 2, 2, 3, { pad: 0 })));
    expect(png.channels).toBe(3);
    expect(png.data[0]).toBe(128);
  });
});
