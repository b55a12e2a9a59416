import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { resolveModelConfig } from '../config';
import { createModel } from '../model';
import { createTrainer } from '../trainer';
import { denoisingLoss } from './denoising-loss';
import { squares } from '../test-squares';

const SIZE = 16;

describe('held-out denoising loss', () => {
  const cfg = resolveModelConfig('tiny', { imageSize: SIZE, channels: 1 });
  const schedule = { kind: 'cosine' as const, steps: 100 };
  const images = squares(8);
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is the mean square of the noise for a model that predicts zero, and the same on every call with one seed', async () => {
    const zero = { config: cfg, predictNoise: (x: tf.Tensor4D) => tf.zerosLike(x) };
    const loss = await denoisingLoss(zero, images, 8, undefined, { schedule, seed: 3, perImage: 4 });
    expect(Math.abs(loss - 1)).toBeLessThan(0.05); // 8,192 standard normal values
    const model = createModel(cfg, 0);
    const a = await denoisingLoss(model, images, 8, undefined, { schedule, seed: 3, batch: 3 });
    const b = await denoisingLoss(model, images, 8, undefined, { schedule, seed: 3, batch: 50 });
    expect(Math.abs(a - b) / a).toBeLessThan(1e-5); // batching does not change the draws
    const c = await denoisingLoss(model, images, 8, undefined, { schedule, seed: 4 });
    expect(c).not.toBe(a);
    model.dispose();
  });

  it('falls as the model learns the images, without leaking tensors', async () => {
    const model = createModel(cfg, 0);
    const before = await denoisingLoss(model, images, 8, undefined, { schedule, seed: 1, perImage: 4 });
    const trainer = createTrainer(model, { learningRate: 3e-3, batchSize: 8, schedule, seed: 0 });
    for (let s = 0; s < 40; s++) await trainer.step({ images, count: 8 });
    trainer.dispose();
    const tensors = tf.memory().numTensors;
    const after = await denoisingLoss(model, images, 8, undefined, { schedule, seed: 1, perImage: 4 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(after).toBeLessThan(before * 0.8);
    model.dispose();
  });

  it('refuses images that do not match the model', async () => {
    const model = createModel(cfg, 0);
    await expect(denoisingLoss(model, new Float32Array(10), 1, undefined, { schedule, seed: 1 })).rejects.toThrow(/expected 1 images of 16x16x1/);
    model.dispose();
  });
});
