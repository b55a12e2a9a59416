// Local training of the denoiser with the epsilon-prediction objective of DDPM (Ho et al.,
// arXiv 2006.11239, Algorithm 1): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps with t uniform,
// loss = mean (eps - eps_theta(x_t, t))^2, optimised with Adam (./adam.ts: tfjs's arithmetic, its
// constants kept on the device). Optional quantization-aware
// training (fake-quantized weights/activations, straight-through gradients; Kim, Saad et al.,
// arXiv 2111.07911) and label dropout for classifier-free guidance (Ho & Salimans, arXiv
// 2207.12598). Timesteps, noise and label dropout come from a seeded JavaScript generator, so a
// step is reproducible on every backend.
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from './adam';
import { assertGradients } from './gradients';
import type { DiffusionModel } from './model';
import { normal, uniform } from './rng';
import { makeSchedule, type ScheduleSpec } from './schedule';

export interface TrainerOptions {
  learningRate: number;
  batchSize: number;
  schedule: ScheduleSpec;
  /** Fake-quantization precision of the weights during training; 32 (the default) = off. */
  trainBits?: number;
  /** Fake-quantize activations (each convolution's input) at trainBits too. */
  quantizeActivations?: boolean;
  seed: number;
  /** Probability of replacing a label by "no label" (classifier-free guidance); default 0.1 for conditional models. */
  condDropout?: number;
  /** What the network predicts: the noise eps (DDPM, the default) or v = sqrt(abar) eps - sqrt(1 - abar) x_0 (Salimans & Ho, arXiv 2202.00512). */
  prediction?: Prediction;
}

export type Prediction = 'eps' | 'v';

export interface TrainBatch {
  /** NHWC images in [0, 1], count * H * W * C values. */
  images: Float32Array;
  /** One label per image (class-conditional models only). */
  labels?: Int32Array;
  count: number;
}

export interface Trainer {
  readonly options: Readonly<TrainerOptions>;
  /** One Adam step on the batch; resolves to the batch's loss. */
  step(batch: TrainBatch): Promise<number>;
  /** Forgets Adam's moments (each federated round starts from fresh optimizer state). */
  resetOptimizer(): void;
  /** The learning rate of the next steps (a schedule sets it before each step or round). */
  setLearningRate(learningRate: number): void;
  /** Disposes the optimizer state; the model is left alone. */
  dispose(): void;
}

/**
 * What the trainer needs of a model: its config, the variables Adam updates, and the forward. A
 * DiffusionModel trains every weight; a LoraModel (./lora.ts) offers only its adapters.
 */
export type TrainableModel = Pick<DiffusionModel, 'config' | 'variables' | 'predictNoise'>;

export function createTrainer(model: TrainableModel, options: TrainerOptions): Trainer {
  const { config } = model;
  const bits = options.trainBits ?? 32;
  if (!Number.isInteger(bits) || bits < 1) throw new Error(`trainBits must be an integer >= 1 (32 = full precision), got ${bits}`);
  if (!(options.learningRate > 0)) throw new Error(`learningRate must be > 0, got ${options.learningRate}`);
  const schedule = makeSchedule(options.schedule);
  const sqrtAb = Float32Array.from(schedule.alphaBars, (a) => Math.sqrt(a));
  const sqrtOneMinusAb = Float32Array.from(schedule.alphaBars, (a) => Math.sqrt(1 - a));
  const condDropout = options.condDropout ?? (config.numClasses > 0 ? 0.1 : 0);
  const rand = uniform(options.seed);
  const gauss = normal(options.seed ^ 0x5eed);
  const pixels = config.imageSize * config.imageSize * config.channels;
  let learningRate = options.learningRate;
  const newOptimizer = () => new Adam(model.variables);
  let optimizer = newOptimizer();
  const prediction = options.prediction ?? 'eps';
  let disposed = false;

  async function step(batch: TrainBatch): Promise<number> {
    if (disposed) throw new Error('this Trainer was disposed');
    assertGradients();
    const n = batch.count;
    if (!Number.isInteger(n) || n < 1) throw new Error(`batch.count must be a positive integer, got ${n}`);
    if (batch.images.length !== n * pixels) {
      throw new Error(`batch.images has ${batch.images.length} values; ${n} images of ${config.imageSize}x${config.imageSize}x${config.channels} need ${n * pixels}`);
    }
    if (config.numClasses > 0 && batch.labels && batch.labels.length !== n) {
      throw new Error(`batch.labels has ${batch.labels.length} labels for ${n} images`);
    }
    const xt = new Float32Array(n * pixels);
    const eps = new Float32Array(n * pixels);
    const t = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const ti = Math.min(Math.floor(rand() * schedule.steps), schedule.steps - 1);
      t[i] = ti;
      const a = sqrtAb[ti];
      const b = sqrtOneMinusAb[ti];
      for (let j = i * pixels; j < (i + 1) * pixels; j++) {
        const e = gauss();
        const x0 = 2 * batch.images[j] - 1;
        eps[j] = prediction === 'v' ? a * e - b * x0 : e;
        xt[j] = a * x0 + b * e;
      }
    }
    let labels: Int32Array | undefined;
    if (config.numClasses > 0) {
      labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const l = batch.labels ? batch.labels[i] : config.numClasses;
        labels[i] = rand() < condDropout ? config.numClasses : l;
      }
    }
    const shape: [number, number, number, number] = [n, config.imageSize, config.imageSize, config.channels];
    const loss = tf.tidy(() => {
      const x = tf.tensor4d(xt, shape);
      const target = tf.tensor4d(eps, shape);
      const value = optimizer.minimize(() => {
        const pred = model.predictNoise(x, t, labels, { trainBits: bits, quantizeActivations: options.quantizeActivations });
        return tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar;
      }, learningRate);
      if (!value) throw new Error('optimizer returned no loss');
      return value;
    });
    try {
      const [value] = await loss.data();
      return value;
    } finally {
      loss.dispose();
    }
  }

  return {
    options: { ...options },
    step,
    resetOptimizer() {
      optimizer.dispose();
      optimizer = newOptimizer();
    },
    setLearningRate(lr: number) {
      if (!(lr > 0) || !Number.isFinite(lr)) throw new Error(`learningRate must be a finite number > 0, got ${lr}`);
      // Adam.minimize takes the rate per step
      learningRate = lr;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      optimizer.dispose();
    },
  };
}
