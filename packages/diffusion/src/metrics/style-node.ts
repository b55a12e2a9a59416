// Node side of the style Fréchet distance (./style.ts): the reference is the held-out part of the
// chosen emoji vendors (vendorSplit of @fedbit/datasets, the same symbols held out in every
// vendor, none of them trained on by the base or the classifier), read from the dataset on disk.
import { loadDataset, toFloatImages, vendorIndices, vendorSplit, type ImageDataset } from '@fedbit/datasets/node';
import type { GaussianStats } from './frechet';
import { loadStyleClassifier } from './load';
import { styleFrechet, styleStats } from './style';
import type { StyleClassifier } from './style-classifier';

let shared: Promise<StyleClassifier> | null = null;
const references = new Map<string, Promise<GaussianStats>>();

/** The committed style classifier, loaded once per process. */
export function sharedStyleClassifier(): Promise<StyleClassifier> {
  return (shared ??= loadStyleClassifier().catch((error: unknown) => {
    shared = null;
    throw error;
  }));
}

/** The held-out real images of `vendors` ("twitter,facebook"), NHWC 32x32x3 in [0, 1]. */
export async function styleReferenceImages(vendors: string, ds?: ImageDataset): Promise<{ images: Float32Array; count: number; labels: Int32Array }> {
  const data = ds ?? (await loadDataset('emoji'));
  const { eval: idx } = vendorSplit(data, vendors);
  return { images: toFloatImages(data, idx), count: idx.length, labels: Int32Array.from(idx, (i) => data.labels[i]) };
}

/** Feature statistics of the held-out images of `vendors`, computed once per vendor set. */
export async function styleReference(vendors: string): Promise<GaussianStats> {
  const ds = await loadDataset('emoji');
  const key = vendorIndices(ds, vendors).sort().join(',');
  let ref = references.get(key);
  if (!ref) {
    ref = (async () => {
      const { images, count } = await styleReferenceImages(vendors, ds);
      return styleStats(images, count, await sharedStyleClassifier());
    })();
    ref.catch(() => references.delete(key));
    references.set(key, ref);
  }
  return ref;
}

/**
 * The style Fréchet distance (NOT Inception FID) of generated 32x32x3 images in [0, 1] against
 * the held-out images of `vendors`, e.g. styleFid(samples, 'twitter,facebook'). `count` defaults
 * to every image in `samples`.
 */
export async function styleFid(samples: Float32Array, vendors: string, options: { count?: number } = {}): Promise<number> {
  const per = 32 * 32 * 3;
  const count = options.count ?? samples.length / per;
  if (!Number.isInteger(count) || count < 2 || samples.length < count * per) {
    throw new RangeError(`styleFid: expected at least 2 images of 32x32x3 (${per} values each), got ${samples.length} values for count ${options.count ?? 'all'}`);
  }
  for (let i = 0; i < count * per; i++) if (!Number.isFinite(samples[i])) throw new RangeError(`styleFid: value ${i} of the samples is ${samples[i]}; expected finite pixels in [0, 1]`);
  return styleFrechet(samples, count, await styleReference(vendors), await sharedStyleClassifier());
}
