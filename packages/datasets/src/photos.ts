// A person's own photos as local training data (issue 14, bring your own data). A photo is kept as
// the emoji set keeps its images: the centred square of the picture, area-averaged to 32x32 RGB.
// Photos carry no label (-1): each trains as the "no label" class of a class-conditional model (the
// class that classifier-free guidance already trains on; Ho & Salimans, arXiv 2207.12598), and as
// any image of an unconditional one. Only the 32x32 copy is kept; the picture itself is never read
// again, and neither leaves the device.
import { resizeImages } from './resize';
import type { DatasetName, ImageDataset } from './types';

/** The stored size of a photo: the emoji set's. */
export const PHOTO_SIZE = 32;
/** The label a photo trains with: none (see the file's head). */
export const NO_LABEL = -1;
/** Photos a tab keeps at most: 32x32x3 bytes each, 3 MB in all. */
export const MAX_PHOTOS = 1000;

export interface Photo {
  /** PHOTO_SIZE x PHOTO_SIZE RGB bytes, row-major. */
  pixels: Uint8Array;
}

/** The centred square of a width x height picture: where to crop before scaling down. */
export function centreSquare(width: number, height: number): { x: number; y: number; side: number } {
  if (!(width > 0 && height > 0)) throw new RangeError(`centreSquare: a picture of ${width}x${height}; expected a positive width and height`);
  const side = Math.min(width, height);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side };
}

/** A photo from RGBA pixels (a canvas's ImageData): the centred square, area-averaged to PHOTO_SIZE. */
export function framePhoto(rgba: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (rgba.length !== width * height * 4) throw new RangeError(`framePhoto: ${rgba.length} values for a ${width}x${height} RGBA picture (expected ${width * height * 4})`);
  const { x, y, side } = centreSquare(width, height);
  const square = new Uint8Array(side * side * 3);
  for (let r = 0; r < side; r++)
    for (let c = 0; c < side; c++) {
      const from = ((y + r) * width + (x + c)) * 4;
      const to = (r * side + c) * 3;
      square[to] = rgba[from];
      square[to + 1] = rgba[from + 1];
      square[to + 2] = rgba[from + 2];
    }
  const out = side === PHOTO_SIZE ? square : resizeImages(square, 1, side, side, 3, PHOTO_SIZE, PHOTO_SIZE, side > PHOTO_SIZE ? 'area' : 'bilinear');
  return Uint8Array.from(out, (v) => Math.round(v));
}

/** Checks one photo from storage: what was wrong, and what was expected. */
export function photoProblem(p: unknown): string | null {
  const photo = p as Partial<Photo> | null;
  if (!photo || typeof photo !== 'object') return 'a photo must be an object { pixels }';
  if (!(photo.pixels instanceof Uint8Array) || photo.pixels.length !== PHOTO_SIZE * PHOTO_SIZE * 3) {
    return `pixels must be a Uint8Array of ${PHOTO_SIZE}x${PHOTO_SIZE}x3 = ${PHOTO_SIZE * PHOTO_SIZE * 3} RGB bytes`;
  }
  return null;
}

/**
 * The photos as a dataset in the run's format: resized to `size` (area averaging below 32, as the
 * shipped sets are made) and, for a greyscale run, turned grey (ITU-R BT.601 luma). Every label
 * is NO_LABEL.
 */
export function photoDataset(photos: readonly Photo[], size: number, channels: 1 | 3, name: DatasetName): ImageDataset {
  if (photos.length === 0) throw new RangeError('photoDataset: no photos; choose at least one photo first');
  if (photos.length > MAX_PHOTOS) throw new RangeError(`photoDataset: ${photos.length} photos; at most ${MAX_PHOTOS} are kept`);
  photos.forEach((p, i) => {
    const problem = photoProblem(p);
    if (problem) throw new RangeError(`photoDataset: photo ${i}: ${problem}`);
  });
  const n = photos.length;
  const rgb = new Uint8Array(n * PHOTO_SIZE * PHOTO_SIZE * 3);
  photos.forEach((p, i) => rgb.set(p.pixels, i * PHOTO_SIZE * PHOTO_SIZE * 3));
  const resized = size === PHOTO_SIZE ? rgb : resizeImages(rgb, n, PHOTO_SIZE, PHOTO_SIZE, 3, size, size, size < PHOTO_SIZE ? 'area' : 'bilinear');
  const pixels = new Uint8Array(n * size * size * channels);
  for (let i = 0; i < n * size * size; i++) {
    if (channels === 3) for (let c = 0; c < 3; c++) pixels[i * 3 + c] = Math.round(resized[i * 3 + c]);
    else pixels[i] = Math.round(0.299 * resized[i * 3] + 0.587 * resized[i * 3 + 1] + 0.114 * resized[i * 3 + 2]);
  }
  return { name, width: size, height: size, channels, count: n, pixels, labels: new Int32Array(n).fill(NO_LABEL) };
}
