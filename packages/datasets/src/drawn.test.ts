import { describe, expect, it } from 'vitest';
import { DRAWN_SIZE, drawnDataset, frameDrawing } from './drawn';

/** A 100x60 canvas with a thick vertical stroke near its top-left corner. */
function stroke(): Uint8Array {
  const w = 100;
  const h = 60;
  const grey = new Uint8Array(w * h);
  for (let y = 5; y < 45; y++) for (let x = 10; x < 18; x++) grey[y * w + x] = 255;
  return grey;
}

describe('drawn digits', () => {
  it('frames a drawing as MNIST does: 20 px tall, aspect kept, centre of mass in the middle of 28x28', () => {
    const d = frameDrawing(stroke(), 100, 60)!;
    expect(d).toHaveLength(DRAWN_SIZE * DRAWN_SIZE);
    let mass = 0;
    let cy = 0;
    let cx = 0;
    let top = DRAWN_SIZE;
    let bottom = -1;
    let left = DRAWN_SIZE;
    let right = -1;
    for (let y = 0; y < DRAWN_SIZE; y++)
      for (let x = 0; x < DRAWN_SIZE; x++) {
        const v = d[y * DRAWN_SIZE + x];
        mass += v;
        cy += v * y;
        cx += v * x;
        if (v > 0) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    expect(bottom - top + 1).toBe(20);
    expect(right - left + 1).toBe(4); // 40x8 stroke -> 20x4
    expect(Math.abs(cy / mass - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cx / mass - 13.5)).toBeLessThanOrEqual(0.5);
  });

  it('an empty canvas is no drawing', () => {
    expect(frameDrawing(new Uint8Array(50 * 50), 50, 50)).toBeNull();
    expect(() => frameDrawing(new Uint8Array(10), 50, 50)).toThrow(/10 values for a 50x50 canvas/);
  });

  it('becomes a dataset in the run format: resized like the shipped shards, grey copied to RGB', () => {
    const a = frameDrawing(stroke(), 100, 60)!;
    const grey = drawnDataset([{ label: 1, pixels: a }, { label: 7, pixels: a }], 16, 1);
    expect(grey).toMatchObject({ name: 'mnist', width: 16, height: 16, channels: 1, count: 2 });
    expect([...grey.labels]).toEqual([1, 7]);
    expect(grey.pixels).toHaveLength(2 * 16 * 16);
    expect(Math.max(...grey.pixels)).toBeGreaterThan(100);
    const rgb = drawnDataset([{ label: 3, pixels: a }], 16, 3);
    expect(rgb.pixels).toHaveLength(16 * 16 * 3);
    for (let i = 0; i < 16 * 16; i++) expect([rgb.pixels[3 * i], rgb.pixels[3 * i + 1], rgb.pixels[3 * i + 2]]).toEqual([grey.pixels[i], grey.pixels[i], grey.pixels[i]]);
    expect(drawnDataset([{ label: 3, pixels: a }], 28, 1).pixels).toEqual(a);
  });

  it('refuses what it cannot train on, saying what was expected', () => {
    expect(() => drawnDataset([], 16, 1)).toThrow(/no drawings; draw and save at least one digit/);
    expect(() => drawnDataset([{ label: 12, pixels: new Uint8Array(784) }], 16, 1)).toThrow(/drawing 0: label 12 is not a digit 0..9/);
    expect(() => drawnDataset([{ label: 1, pixels: new Uint8Array(100) }], 16, 1)).toThrow(/Uint8Array of 28x28 = 784/);
  });
});
