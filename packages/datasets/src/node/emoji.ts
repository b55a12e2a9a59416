// Emoji from emoji-datasource-{apple,google,twitter,facebook} 16.0.0: the same symbols drawn in
// four vendors' styles, as 64 px RGBA PNGs under img/<vendor>/64/. We keep symbols every vendor
// draws, composite over white, area-average to 32x32 RGB; label = emoji.json `category`
// (the "Component" category, five skin-tone swatches, is dropped); group = vendor.
// Skin-tone variants are left out: they are recoloured copies of their base symbol and would
// double the file (about 1,850 symbols x 4 vendors instead of 3,640 x 4).
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { convertIndexedToRgb, decode } from 'fast-png';
import { resizeImages } from '../resize';
import type { ImageDataset } from '../types';

export const EMOJI_VENDORS = ['apple', 'google', 'twitter', 'facebook'] as const;
export type EmojiVendor = (typeof EMOJI_VENDORS)[number];
const SOURCE = 64;
const SIZE = 32;

interface EmojiEntry {
  image: string;
  category: string;
  sort_order: number;
  has_img_apple?: boolean;
  has_img_google?: boolean;
  has_img_twitter?: boolean;
  has_img_facebook?: boolean;
}

function packageDir(vendor: EmojiVendor): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`emoji-datasource-${vendor}/package.json`));
  } catch {
    throw new Error(`the npm package emoji-datasource-${vendor} is not installed; it is a devDependency of @fedbit/datasets: run \`npm install\` in the repo root`);
  }
}

/** 64x64 PNG -> 64*64*3 RGB floats in 0..255 composited over white. */
function decodeOverWhite(bytes: Uint8Array, file: string): Float64Array {
  const png = decode(bytes);
  if (png.width !== SOURCE || png.height !== SOURCE) throw new Error(`${file}: ${png.width}x${png.height}, expected ${SOURCE}x${SOURCE}`);
  let data: ArrayLike<number> = png.data;
  let ch = png.channels;
  let max = png.depth === 16 ? 65535 : 255;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    ch = png.palette[0].length;
    max = 255;
  } else if (png.depth < 8) {
    throw new Error(`${file}: ${png.depth}-bit non-palette PNGs are not supported`);
  }
  const out = new Float64Array(SOURCE * SOURCE * 3);
  for (let p = 0; p < SOURCE * SOURCE; p++) {
    const s = p * ch;
    let r: number, g: number, b: number, a: number;
    if (ch >= 3) {
      r = data[s] / max;
      g = data[s + 1] / max;
      b = data[s + 2] / max;
      a = ch === 4 ? data[s + 3] / max : 1;
    } else {
      r = g = b = data[s] / max;
      a = ch === 2 ? data[s + 1] / max : 1;
    }
    out[p * 3] = 255 * (r * a + (1 - a));
    out[p * 3 + 1] = 255 * (g * a + (1 - a));
    out[p * 3 + 2] = 255 * (b * a + (1 - a));
  }
  return out;
}

export interface EmojiBuildOptions {
  /** Keep only these categories (emoji.json names); default all but "Component". */
  categories?: string[];
}

export function buildEmoji(options: EmojiBuildOptions = {}): ImageDataset {
  const dirs = EMOJI_VENDORS.map(packageDir);
  const entries = JSON.parse(readFileSync(join(dirs[0], 'emoji.json'), 'utf8')) as EmojiEntry[];
  const categoryOrder = Object.keys(JSON.parse(readFileSync(join(dirs[0], 'categories.json'), 'utf8')) as Record<string, unknown>);
  const classNames = categoryOrder.filter((c) => c !== 'Component' && (!options.categories || options.categories.includes(c)));
  const symbols = entries
    .filter((e) => classNames.includes(e.category))
    .filter((e) => EMOJI_VENDORS.every((v, k) => e[`has_img_${v}`] === true && existsSync(join(dirs[k], 'img', v, '64', e.image))))
    .sort((a, b) => a.sort_order - b.sort_order);
  const perImage = SIZE * SIZE * 3;
  const count = symbols.length * EMOJI_VENDORS.length;
  const pixels = new Uint8Array(count * perImage);
  const labels = new Int32Array(count);
  const groups = new Int32Array(count);
  let n = 0;
  EMOJI_VENDORS.forEach((vendor, v) => {
    for (const symbol of symbols) {
      const file = join(dirs[v], 'img', vendor, '64', symbol.image);
      const rgb = decodeOverWhite(readFileSync(file), file);
      const small = resizeImages(rgb, 1, SOURCE, SOURCE, 3, SIZE, SIZE, 'area');
      for (let k = 0; k < perImage; k++) pixels[n * perImage + k] = Math.round(small[k]);
      labels[n] = classNames.indexOf(symbol.category);
      groups[n] = v;
      n++;
    }
  });
  return { name: 'emoji', width: SIZE, height: SIZE, channels: 3, count, pixels, labels, groups, groupNames: [...EMOJI_VENDORS], classNames };
}
