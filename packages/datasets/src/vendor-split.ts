// The emoji dataset split by drawing style (vendor = group) with a seeded held-out part: the same
// symbols are held out in every vendor (the dataset is vendor-major, one image of each symbol per
// vendor, in the same order), so no symbol of the held-out part is trained on in any style. The
// pretrained base (apps/cli/src/pretrain.ts) trains on the apple and google train parts; the style
// Fréchet distance (@fedbit/diffusion/metrics style-fid) compares against the held-out parts.
import { shuffle, uniform } from './rng';
import type { ImageDataset } from './types';

/** The held-out share of symbols and its seed: one rule for the base, the metric and the fine-tuning demo. */
export const VENDOR_EVAL_FRACTION = 0.2;
export const VENDOR_SPLIT_SEED = 0;

export interface VendorSplit {
  /** Training images of the chosen vendors (dataset indices, ascending). */
  train: Int32Array;
  /** Held-out images of the chosen vendors (dataset indices, ascending). */
  eval: Int32Array;
}

/** Parses and checks a vendor list ("twitter,facebook" or an array) against the dataset's group names. */
export function vendorIndices(ds: Pick<ImageDataset, 'groupNames' | 'name'>, vendors: string | readonly string[]): number[] {
  const names = ds.groupNames;
  if (!names || names.length === 0) throw new Error(`${ds.name} has no vendors (groups); expected the emoji dataset`);
  const list = (typeof vendors === 'string' ? vendors.split(',') : [...vendors]).map((v) => v.trim()).filter(Boolean);
  if (list.length === 0) throw new Error(`expected at least one vendor from ${names.join(', ')}`);
  const out: number[] = [];
  for (const v of list) {
    const k = names.indexOf(v);
    if (k < 0) throw new Error(`unknown vendor "${v}"; expected names from ${names.join(', ')}, separated by commas`);
    if (!out.includes(k)) out.push(k);
  }
  return out;
}

/** Train and held-out images of `vendors`, the same held-out symbols for every vendor. */
export function vendorSplit(
  ds: Pick<ImageDataset, 'count' | 'groups' | 'groupNames' | 'name'>,
  vendors: string | readonly string[],
  options: { seed?: number; evalFraction?: number } = {},
): VendorSplit {
  const groups = ds.groups;
  const names = ds.groupNames;
  if (!groups || !names) throw new Error(`${ds.name} has no vendors (groups); expected the emoji dataset`);
  const chosen = new Set(vendorIndices(ds, vendors));
  const fraction = options.evalFraction ?? VENDOR_EVAL_FRACTION;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`evalFraction must be in [0, 1], got ${fraction}`);
  const perVendor = ds.count / names.length;
  if (!Number.isInteger(perVendor)) throw new Error(`${ds.name}: ${ds.count} images do not split evenly over ${names.length} vendors`);
  const order = shuffle(Int32Array.from({ length: perVendor }, (_, i) => i), uniform((options.seed ?? VENDOR_SPLIT_SEED) ^ 0x51ce));
  const held = new Uint8Array(perVendor);
  const evalSymbols = Math.round(perVendor * fraction);
  for (let k = 0; k < evalSymbols; k++) held[order[k]] = 1;
  const train: number[] = [];
  const evalIdx: number[] = [];
  for (let i = 0; i < ds.count; i++) {
    if (!chosen.has(groups[i])) continue;
    if (groups[i] !== Math.floor(i / perVendor)) throw new Error(`${ds.name}: image ${i} is not in vendor-major order`);
    (held[i % perVendor] ? evalIdx : train).push(i);
  }
  return { train: Int32Array.from(train), eval: Int32Array.from(evalIdx) };
}
