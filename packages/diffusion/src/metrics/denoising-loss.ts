// The held-out denoising loss: the training objective of DDPM (Ho et al., arXiv 2006.11239, eq. 14,
// the epsilon-prediction MSE) on images the model never trained on, with the timesteps and the
// noise fixed by a seed, so two models (a base and its fine-tuned adapters) are scored on exactly
// the same noised images. It is a weighted form of the variational bound on the images' negative
// log-likelihood, so a lower value means the model fits those images better, and with the noise
// fixed its difference between two models is free of sampling noise. A Fréchet distance of drawn
// samples moves with every chaotic change of what a weak model draws; this figure does not (issue
// 15: docs/LORA.md, "Why the Fréchet distance cannot judge this base").
//
// Each image is scored at `perImage` timesteps spread over the schedule (stratified: image i's k-th
// timestep falls in the k-th of perImage equal bands, at a place set by the seed), so the mean
// weighs every part of the schedule equally.
import * as tf from '@tensorflow/tfjs-core';
import type { Prediction, TrainableModel } from '../trainer';
import { normal, uniform } from '../rng';
import { makeSchedule, type ScheduleSpec } from '../schedule';

export interface DenoisingLossOptions {
  schedule: ScheduleSpec;
  seed: number;
  /** Timesteps per image (default 2). */
  perImage?: number;
  /** Images per forward pass (default 50). */
  batch?: number;
  prediction?: Prediction;
}

/** Mean squared error of the model's prediction over `count` images (N*H*W*C values in [0, 1]) at fixed timesteps and noise. */
export async function denoisingLoss(model: Pick<TrainableModel, 'config' | 'predictNoise'>, images: Float32Array, count: number, labels: Int32Array | undefined, options: DenoisingLossOptions): Promise<number> {
  const { config } = model;
  const pixels = config.imageSize * config.imageSize * config.channels;
  if (!Number.isInteger(count) || count < 1 || images.length < count * pixels) {
    throw new RangeError(`denoisingLoss: expected ${count} images of ${config.imageSize}x${config.imageSize}x${config.channels} (${count * pixels} values), got ${images.length}`);
  }
  if (labels && labels.length < count) throw new RangeError(`denoisingLoss: ${labels.length} labels for ${count} images`);
  const perImage = options.perImage ?? 2;
  if (!Number.isInteger(perImage) || perImage < 1) throw new RangeError(`denoisingLoss: perImage must be a whole number >= 1, got ${perImage}`);
  const batch = options.batch ?? 50;
  const schedule = makeSchedule(options.schedule);
  const T = schedule.steps;
  const rand = uniform(options.seed);
  const gauss = normal(options.seed ^ 0x10557);
  const prediction = options.prediction ?? 'eps';
  const total = count * perImage;
  let sum = 0;
  for (let start = 0; start < total; start += batch) {
    const n = Math.min(batch, total - start);
    const xt = new Float32Array(n * pixels);
    const target = new Float32Array(n * pixels);
    const t = new Float32Array(n);
    const lab = labels && config.numClasses > 0 ? new Int32Array(n) : undefined;
    for (let j = 0; j < n; j++) {
      const item = start + j;
      const image = Math.floor(item / perImage);
      const band = item % perImage;
      const ti = Math.min(T - 1, Math.floor(((band + rand()) / perImage) * T));
      t[j] = ti;
      const a = Math.sqrt(schedule.alphaBars[ti]);
      const b = Math.sqrt(1 - schedule.alphaBars[ti]);
      for (let p = 0; p < pixels; p++) {
        const e = gauss();
        const x0 = 2 * images[image * pixels + p] - 1;
        target[j * pixels + p] = prediction === 'v' ? a * e - b * x0 : e;
        xt[j * pixels + p] = a * x0 + b * e;
      }
      if (lab) lab[j] = labels![image];
    }
    const shape: [number, number, number, number] = [n, config.imageSize, config.imageSize, config.channels];
    const mse = tf.tidy(() => tf.sum(tf.squaredDifference(model.predictNoise(tf.tensor4d(xt, shape), t, lab), tf.tensor4d(target, shape))));
    sum += (await mse.data())[0];
    mse.dispose();
  }
  return sum / (total * pixels);
}
