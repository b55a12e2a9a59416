import { encode } from 'fast-png';

export interface RasterImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface GridOptions {
  /** Images per row; default ceil(sqrt(count)). */
  cols?: number;
  /** Border between and around images, in output pixels; default 2. */
  pad?: number;
  /** Nearest-neighbour magnification; default 1. */
  scale?: number;
  /** Border grey level 0..255; default 128, so both black and white backgrounds stand out. */
  padValue?: number;
}

/** Tiles `count` NHWC images in [0, 1] into one 8-bit image (for the dashboard's sample grid). */
export function imageGrid(images: Float32Array, count: number, h: number, w: number, c: number, options: GridOptions = {}): RasterImage {
  if (images.length < count * h * w * c) throw new RangeError(`imageGrid: ${images.length} values is fewer than count*h*w*c = ${count * h * w * c}`);
  if (c !== 1 && c !== 3 && c !== 4) throw new RangeError(`imageGrid: channels must be 1, 3 or 4, got ${c}`);
  const cols = Math.max(1, Math.min(options.cols ?? Math.ceil(Math.sqrt(count)), Math.max(count, 1)));
  const rows = Math.max(1, Math.ceil(count / cols));
  const pad = options.pad ?? 2;
  const scale = Math.max(1, Math.floor(options.scale ?? 1));
  const cw = w * scale;
  const ch = h * scale;
  const width = cols * cw + (cols + 1) * pad;
  const height = rows * ch + (rows + 1) * pad;
  const pixels = new Uint8Array(width * height * c).fill(options.padValue ?? 128);
  for (let n = 0; n < count; n++) {
    const x0 = pad + (n % cols) * (cw + pad);
    const y0 = pad + Math.floor(n / cols) * (ch + pad);
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const src = ((n * h + Math.floor(y / scale)) * w + Math.floor(x / scale)) * c;
        const dst = ((y0 + y) * width + x0 + x) * c;
        for (let k = 0; k < c; k++) {
          const v = images[src + k];
          pixels[dst + k] = Number.isFinite(v) ? Math.round(Math.min(Math.max(v, 0), 1) * 255) : 0;
        }
      }
    }
  }
  return { pixels, width, height, channels: c };
}

/** An 8-bit PNG of the image. */
export function encodePng(img: RasterImage): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.pixels, channels: img.channels, depth: 8 });
}
