// Digits drawn by a person on the device page, as local training data in the shipped datasets'
// format. A drawing is kept as MNIST keeps its digits (LeCun et al., "Gradient-based learning
// applied to document recognition", 1998, and the MNIST page): white ink on black, 28x28, the
// digit's bounding box scaled to fit 20x20 (aspect kept) and placed so its centre of mass is at
// the centre of the 28x28 field. The shipped MNIST shards and a drawing then look alike to the model.
import { resizeImages } from './resize';
import type { DatasetName, ImageDataset } from './types';

/** The stored size of a drawing (MNIST's). */
export const DRAWN_SIZE = 28;
const BOX = 20;
/** Pixels at or below this are paper, not ink. */
const INK_THRESHOLD = 16;

export interface Drawing {
  /** The digit, 0..9. */
  label: number;
  /** DRAWN_SIZE x DRAWN_SIZE grey levels, row-major, 255 = ink. */
  pixels: Uint8Array;
}

/**
 * A drawing from a square-or-not canvas's grey levels (`width` x `height`, 255 = ink), in MNIST's
 * framing; null when nothing was drawn.
 */
export function frameDrawing(grey: ArrayLike<number>, width: number, height: number): Uint8Array | null {
  if (grey.length !== width * height) throw new RangeError(`frameDrawing: ${grey.length} values for a ${width}x${height} canvas`);
  let top = height;
  let bottom = -1;
  let left = width;
  let right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x] <= INK_THRESHOLD) continue;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
  }
  if (bottom < 0) return null;
  // The bounding box, padded to a square so the digit keeps its aspect when scaled.
  const side = Math.max(bottom - top + 1, right - left + 1);
  const square = new Float64Array(side * side);
  const oy = Math.floor((side - (bottom - top + 1)) / 2);
  const ox = Math.floor((side - (right - left + 1)) / 2);
  for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) square[(y - top + oy) * side + (x - left + ox)] = grey[y * width + x];
  const box = resizeImages(square, 1, side, side, 1, BOX, BOX, side >= BOX ? 'area' : 'bilinear');
  // Centre of mass of the 20x20 box, moved to the centre of the 28x28 field.
  let mass = 0;
  let cy = 0;
  let cx = 0;
  for (let y = 0; y < BOX; y++)
    for (let x = 0; x < BOX; x++) {
      const v = box[y * BOX + x];
      mass += v;
      cy += v * y;
      cx += v * x;
    }
  const shiftY = Math.round(DRAWN_SIZE / 2 - 0.5 - cy / mass);
  const shiftX = Math.round(DRAWN_SIZE / 2 - 0.5 - cx / mass);
  const out = new Uint8Array(DRAWN_SIZE * DRAWN_SIZE);
  for (let y = 0; y < BOX; y++)
    for (let x = 0; x < BOX; x++) {
      const ty = y + shiftY;
      const tx = x + shiftX;
      if (ty >= 0 && ty < DRAWN_SIZE && tx >= 0 && tx < DRAWN_SIZE) out[ty * DRAWN_SIZE + tx] = Math.round(box[y * BOX + x]);
    }
  return out;
}

/** Checks one drawing from storage: what was wrong, and what was expected. */
export function drawingProblem(d: unknown): string | null {
  const drawing = d as Partial<Drawing> | null;
  if (!drawing || typeof drawing !== 'object') return 'a drawing must be an object { label, pixels }';
  if (!Number.isInteger(drawing.label) || (drawing.label as number) < 0 || (drawing.label as number) > 9) return `label ${String(drawing.label)} is not a digit 0..9`;
  if (!(drawing.pixels instanceof Uint8Array) || drawing.pixels.length !== DRAWN_SIZE * DRAWN_SIZE) {
    return `pixels must be a Uint8Array of ${DRAWN_SIZE}x${DRAWN_SIZE} = ${DRAWN_SIZE * DRAWN_SIZE} grey levels`;
  }
  return null;
}

/**
 * The drawings as a dataset in the run's format: resized to `size` (area averaging, as the shipped
 * MNIST shards are made) and, for an RGB run, grey copied to all three channels.
 */
export function drawnDataset(drawings: readonly Drawing[], size: number, channels: 1 | 3, name: DatasetName = 'mnist'): ImageDataset {
  if (drawings.length === 0) throw new RangeError('drawnDataset: no drawings; draw and save at least one digit first');
  drawings.forEach((d, i) => {
    const problem = drawingProblem(d);
    if (problem) throw new RangeError(`drawnDataset: drawing ${i}: ${problem}`);
  });
  const n = drawings.length;
  const grey = new Uint8Array(n * DRAWN_SIZE * DRAWN_SIZE);
  drawings.forEach((d, i) => grey.set(d.pixels, i * DRAWN_SIZE * DRAWN_SIZE));
  const resized = size === DRAWN_SIZE ? grey : resizeImages(grey, n, DRAWN_SIZE, DRAWN_SIZE, 1, size, size, size < DRAWN_SIZE ? 'area' : 'bilinear');
  const pixels = new Uint8Array(n * size * size * channels);
  for (let i = 0; i < n * size * size; i++) for (let c = 0; c < channels; c++) pixels[i * channels + c] = Math.round(resized[i]);
  return {
    name,
    width: size,
    height: size,
    channels,
    count: n,
    pixels,
    labels: Int32Array.from(drawings, (d) => d.label),
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
  };
}
