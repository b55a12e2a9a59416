import { describe, expect, it } from 'vitest';
import { MAX_PHOTOS, NO_LABEL, PHOTO_SIZE, centreSquare, framePhoto, photoDataset, photoProblem } from './photos';

/** A width x height RGBA picture: red left half, blue right half, a green 2-pixel frame. */
function picture(width: number, height: number): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const frame = x < 2 || y < 2 || x >= width - 2 || y >= height - 2;
      rgba.set(frame ? [0, 255, 0, 255] : x < width / 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], i);
    }
  return rgba;
}

const at = (px: Uint8Array, size: number, x: number, y: number) => Array.from(px.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

describe('photos as local data', () => {
  it('crops the centred square of a landscape or portrait picture', () => {
    expect(centreSquare(640, 480)).toEqual({ x: 80, y: 0, side: 480 });
    expect(centreSquare(300, 500)).toEqual({ x: 0, y: 100, side: 300 });
    expect(() => centreSquare(0, 10)).toThrow(/positive width and height/);
  });

  it('keeps a photo as 32x32 RGB: the middle of the picture, colours kept, alpha dropped', () => {
    // 128 wide, 64 high: the centred 64x64 square is columns 32..95, red then blue around x = 64.
    const photo = framePhoto(picture(128, 64), 128, 64);
    expect(photo).toHaveLength(PHOTO_SIZE * PHOTO_SIZE * 3);
    expect(at(photo, 32, 8, 16)).toEqual([255, 0, 0]);
    expect(at(photo, 32, 24, 16)).toEqual([0, 0, 255]);
    // The frame's top and bottom rows survive the crop (averaged with the next row); its sides were cropped off.
    expect(at(photo, 32, 8, 0)[1]).toBe(255);
    expect(at(photo, 32, 0, 16)).toEqual([255, 0, 0]);
    expect(() => framePhoto(new Uint8Array(10), 2, 2)).toThrow(/10 values for a 2x2 RGBA picture \(expected 16\)/);
  });

  it('makes a dataset at the run size, grey for a greyscale run, every image unlabelled', () => {
    const photos = [{ pixels: framePhoto(picture(64, 64), 64, 64) }, { pixels: framePhoto(picture(40, 90), 40, 90) }];
    const rgb = photoDataset(photos, 32, 3, 'emoji');
    expect(rgb).toMatchObject({ name: 'emoji', width: 32, height: 32, channels: 3, count: 2 });
    expect(Array.from(rgb.labels)).toEqual([NO_LABEL, NO_LABEL]);
    expect(rgb.pixels.subarray(0, 32 * 32 * 3)).toEqual(photos[0].pixels);
    const grey = photoDataset(photos, 16, 1, 'mnist');
    expect(grey.pixels).toHaveLength(2 * 16 * 16);
    // Red (luma 76) on the left, blue (luma 29) on the right, at 16x16.
    expect(grey.pixels[8 * 16 + 4]).toBe(76);
    expect(grey.pixels[8 * 16 + 11]).toBe(29);
  });

  it('refuses what is not a kept photo, saying what was expected', () => {
    expect(photoProblem({ pixels: new Uint8Array(5) })).toMatch(/32x32x3 = 3072 RGB bytes/);
    expect(photoProblem(null)).toMatch(/an object \{ pixels \}/);
    expect(() => photoDataset([], 16, 1, 'mnist')).toThrow(/no photos/);
    expect(() => photoDataset([{ pixels: new Uint8Array(3) }], 16, 1, 'mnist')).toThrow(/photo 0: pixels must be/);
    const many = Array.from({ length: MAX_PHOTOS + 1 }, () => ({ pixels: new Uint8Array(3072) }));
    expect(() => photoDataset(many, 16, 1, 'mnist')).toThrow(/at most 1000/);
  });
});
