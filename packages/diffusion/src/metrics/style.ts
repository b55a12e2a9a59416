// The style Fréchet distance of issue 15: the Fréchet distance (./frechet.ts, the formula of FID,
// Heusel et al., arXiv 1706.08500) between Gaussians fitted to the 64-d features of our emoji
// style classifier (./style-classifier.ts, trained on all four vendors) for generated images and
// for held-out real images of chosen vendors. It is NOT the Inception FID: another network,
// another scale, comparable only with itself (same weights, similar sample counts).
import { featureStats, frechetDistance, type GaussianStats } from './frechet';
import type { StyleClassifier } from './style-classifier';

/** Feature statistics of `count` 32x32x3 images in [0, 1] (a reference set, computed once). */
export async function styleStats(images: Float32Array, count: number, classifier: StyleClassifier): Promise<GaussianStats> {
  const out = await classifier.features(images, count);
  return featureStats(out.features, count, out.featureDim);
}

/** The style Fréchet distance of `count` generated images against reference statistics. */
export async function styleFrechet(generated: Float32Array, count: number, reference: GaussianStats, classifier: StyleClassifier): Promise<number> {
  const g = await styleStats(generated, count, classifier);
  if (g.dim !== reference.dim) throw new RangeError(`styleFrechet: the reference has ${reference.dim} features, the classifier ${g.dim}`);
  return frechetDistance(g.mu, g.cov, reference.mu, reference.cov);
}
