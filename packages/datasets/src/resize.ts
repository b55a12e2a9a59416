import type { ImageDataset } from './types';

export type ResizeMethod = 'area' | 'bilinear';

interface Taps {
  start: Int32Array;
  count: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

// Per output position, which input positions contribute and how much (weights sum to 1).
function areaTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const index: number[] = [];
  const weight: number[] = [];
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    start[o] = index.length;
    for (let i = Math.floor(lo); i < Math.min(Math.ceil(hi), inSize); i++) {
      const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
      if (overlap <= 1e-12) continue;
      index.push(i);
      weight.push(overlap / scale);
    }
    count[o] = index.length - start[o];
  }
  return { start, count, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

// Half-pixel centres, edges clamped (tf.image.resizeBilinear with halfPixelCenters).
function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize).fill(2);
  const index = new Int32Array(2 * outSize);
  const weight = new Float64Array(2 * outSize);
  for (let o = 0; o < outSize; o++) {
    const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, inSize - 1);
    start[o] = 2 * o;
    index[2 * o] = i0;
    index[2 * o + 1] = i1;
    weight[2 * o] = 1 - (x - i0);
    weight[2 * o + 1] = x - i0;
  }
  return { start, count, index, weight };
}

/**
 * Resizes `n` HWC images (any numeric array) into a new Float64Array; separable, so area
 * averaging is exact for fractional ratios such as 28 -> 16.
 */
export function resizeImages(src: ArrayLike<number>, n: number, h: number, w: number, c: number, outH: number, outW: number, method: ResizeMethod): Float64Array {
  const taps = method === 'area' ? areaTaps : bilinearTaps;
  const ty = taps(h, outH);
  const tx = taps(w, outW);
  const rows = new Float64Array(h * outW * c);
  const out = new Float64Array(n * outH * outW * c);
  for (let img = 0; img < n; img++) {
    const base = img * h * w * c;
    rows.fill(0);
    for (let y = 0; y < h; y++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let k = tx.start[ox], end = k + tx.count[ox]; k < end; k++) {
          const wt = tx.weight[k];
          const s = base + (y * w + tx.index[k]) * c;
          const d = (y * outW + ox) * c;
          for (let ch = 0; ch < c; ch++) rows[d + ch] += wt * src[s + ch];
        }
      }
    }
    const obase = img * outH * outW * c;
    for (let oy = 0; oy < outH; oy++) {
      for (let k = ty.start[oy], end = k + ty.count[oy]; k < end; k++) {
        const wt = ty.weight[k];
        const s = ty.index[k] * outW * c;
        const d = obase + oy * outW * c;
        for (let j = 0; j < outW * c; j++) out[d + j] += wt * rows[s + j];
      }
    }
  }
  return out;
}

/**
 * A square-resized copy of `ds`: area averaging when shrinking (28 -> 16, 14), bilinear when
 * growing, unless `method` says otherwise. Labels and groups are shared, not copied.
 */
export function resizeDataset(ds: ImageDataset, size: number, method?: ResizeMethod): ImageDataset {
  if (!Number.isInteger(size) || size < 1 || size > 4096) throw new RangeError(`resizeDataset: size must be an integer in 1..4096, got ${size}`);
  if (size === ds.width && size === ds.height) return ds;
  const m = method ?? (size <= Math.min(ds.width, ds.height) ? 'area' : 'bilinear');
  const resized = resizeImages(ds.pixels, ds.count, ds.height, ds.width, ds.channels, size, size, m);
  const pixels = new Uint8Array(resized.length);
  for (let i = 0; i < resized.length; i++) pixels[i] = Math.round(resized[i]); // Uint8Array clamps
  return { ...ds, width: size, height: size, pixels };
}
