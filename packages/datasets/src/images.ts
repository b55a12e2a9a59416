import type { ImageDataset } from './types';

/** The images at `indices`, as NHWC floats in [0, 1], ready for a tfjs tensor. */
export function toFloatImages(ds: ImageDataset, indices: ArrayLike<number>): Float32Array {
  const per = ds.width * ds.height * ds.channels;
  const out = new Float32Array(indices.length * per);
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) throw new RangeError(`toFloatImages: index ${i} is outside 0..${ds.count - 1} of ${ds.name}`);
    const src = i * per;
    const dst = n * per;
    for (let k = 0; k < per; k++) out[dst + k] = ds.pixels[src + k] / 255;
  }
  return out;
}

/** The labels at `indices`. */
export function labelsOf(ds: ImageDataset, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) throw new RangeError(`labelsOf: index ${i} is outside 0..${ds.count - 1} of ${ds.name}`);
    out[n] = ds.labels[i];
  }
  return out;
}

/** Number of classes: classNames when present, else max label + 1. */
export function numClasses(ds: ImageDataset): number {
  if (ds.classNames) return ds.classNames.length;
  let max = -1;
  for (let i = 0; i < ds.count; i++) if (ds.labels[i] > max) max = ds.labels[i];
  return max + 1;
}
