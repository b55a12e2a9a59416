// FID-MNIST and diversity for generated digits. FID-MNIST is the Fréchet distance between
// Gaussians fitted to our small MNIST classifier's 128-d penultimate features. It is NOT the
// Inception FID of Heusel et al.: values are on a different scale and are comparable only with
// other FID-MNIST values from the same classifier weights and a similar sample count.
import type { MnistClassifier } from './classifier';
import { classEntropyBits, inceptionScore } from './diversity';
import { featureStats, frechetDistance, type GaussianStats } from './frechet';
import { loadMnistClassifier } from './load';

export interface QualityInput {
  /** Generated images, NHWC in [0, 1]. */
  generated: Float32Array;
  generatedCount: number;
  /** Held-out real images, same layout (not needed when referenceStats is given). */
  reference?: Float32Array;
  referenceCount?: number;
  /** Precomputed reference statistics (from referenceStats()), to skip re-featurising. */
  referenceStats?: GaussianStats;
  /** Square image size (14, 16, 28 ...); upsampled bilinearly to 28 for the classifier. */
  size: number;
  channels: number;
  /** Default: the committed classifier, loaded once. */
  classifier?: MnistClassifier;
}

export interface QualityReport {
  /** Fréchet distance in the MNIST classifier's feature space; NOT Inception FID. Lower is better. */
  fidMnist: number;
  /** Entropy of the predicted-class histogram, in bits; log2(10) = 3.32 is perfectly balanced. */
  classEntropyBits: number;
  /** exp(E KL(p(y|x) || p(y))) with the MNIST classifier, in 1..10. */
  inceptionScore: number;
  /** Generated images scored. */
  count: number;
  referenceCount: number;
}

let shared: Promise<MnistClassifier> | null = null;

/** The committed classifier, loaded once per process/tab. */
export function sharedMnistClassifier(): Promise<MnistClassifier> {
  return (shared ??= loadMnistClassifier().catch((error: unknown) => {
    shared = null;
    throw error;
  }));
}

/** Feature statistics of a reference set, to pass as referenceStats across evaluations. */
export async function referenceStats(images: Float32Array, count: number, size: number, channels: number, classifier?: MnistClassifier): Promise<GaussianStats> {
  const c = classifier ?? (await sharedMnistClassifier());
  const out = await c.features(images, count, size, channels);
  return featureStats(out.features, count, out.featureDim);
}

export async function evaluateQuality(input: QualityInput): Promise<QualityReport> {
  const classifier = input.classifier ?? (await sharedMnistClassifier());
  const { size, channels } = input;
  let ref = input.referenceStats;
  if (!ref) {
    if (!input.reference) throw new Error('evaluateQuality: give reference images (held-out split) or referenceStats');
    const refCount = input.referenceCount ?? input.reference.length / (size * size * channels);
    if (!Number.isInteger(refCount)) throw new RangeError(`evaluateQuality: reference has ${input.reference.length} values, not a whole number of ${size}x${size}x${channels} images`);
    ref = await referenceStats(input.reference, refCount, size, channels, classifier);
  }
  const gen = await classifier.features(input.generated, input.generatedCount, size, channels);
  const genStats = featureStats(gen.features, gen.count, gen.featureDim);
  return {
    fidMnist: frechetDistance(genStats.mu, genStats.cov, ref.mu, ref.cov),
    classEntropyBits: classEntropyBits(gen.probs, gen.count, classifier.classes),
    inceptionScore: inceptionScore(gen.probs, gen.count, classifier.classes),
    count: gen.count,
    referenceCount: ref.count,
  };
}
