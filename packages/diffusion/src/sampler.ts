// Seeded samplers.
// - 'ddim': Song, Meng, Ermon, "Denoising Diffusion Implicit Models", arXiv 2010.02502, eq. 12
//   with eta = 0 (deterministic given x_T), on an evenly spaced subsequence of `steps` timesteps.
// - 'ddpm': ancestral sampling of Ho et al. (arXiv 2006.11239, Algorithm 2), which is the same
//   update with eta = 1 (posterior variance beta~); with steps < T it runs on the respaced
//   subsequence (Nichol & Dhariwal, arXiv 2102.09672, section 4).
// Both predict x_0, clip it to [-1, 1] as DDPM's reference code does, and re-derive eps from it.
// Classifier-free guidance (Ho & Salimans, arXiv 2207.12598, eq. 6):
//   eps~ = (1 + w) eps(x, label) - w eps(x, no label), with w = `guidance` (0 = plain conditional).
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionModel } from './model';
import { normal, normalArray } from './rng';
import { makeSchedule, type ScheduleSpec } from './schedule';
import type { Prediction } from './trainer';

export type SamplerKind = 'ddpm' | 'ddim';

export interface SampleOptions {
  count: number;
  sampler: SamplerKind;
  /** Denoising steps; default T for 'ddpm' and min(50, T) for 'ddim'. */
  steps?: number;
  seed: number;
  /** One label per image (class-conditional models); without labels a conditional model samples unconditionally. */
  labels?: Int32Array;
  /** Classifier-free guidance weight w >= 0 (needs labels). */
  guidance?: number;
  schedule: ScheduleSpec;
  /** What the network predicts (as it was trained): 'eps' (default) or 'v'. */
  prediction?: Prediction;
  /** Called after each denoising step (for progress bars). */
  onStep?: (done: number, total: number) => void;
}

/** Evenly spaced timesteps 0 = tau_0 < tau_1 < ... < tau_{S-1} <= T-1. */
export function samplingTimesteps(T: number, steps: number): number[] {
  const s = Math.max(1, Math.min(Math.floor(steps), T));
  const out: number[] = [];
  for (let i = 0; i < s; i++) out.push(Math.round((i * (T - 1)) / Math.max(s - 1, 1)));
  if (s === 1) out[0] = T - 1;
  return out;
}

/** Draws `count` images; resolves to NHWC values in [0, 1]. */
export async function sample(model: DiffusionModel, options: SampleOptions): Promise<Float32Array> {
  const { config } = model;
  const schedule = makeSchedule(options.schedule);
  const T = schedule.steps;
  const n = options.count;
  if (!Number.isInteger(n) || n < 1) throw new Error(`count must be a positive integer, got ${n}`);
  const steps = options.steps ?? (options.sampler === 'ddpm' ? T : Math.min(50, T));
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  if (options.labels && options.labels.length !== n) throw new Error(`labels has ${options.labels.length} entries for ${n} images`);
  const eta = options.sampler === 'ddpm' ? 1 : 0;
  const guidance = options.guidance ?? 0;
  const conditional = config.numClasses > 0 && options.labels !== undefined;
  const guided = conditional && guidance > 0;
  const taus = samplingTimesteps(T, steps);
  const shape: [number, number, number, number] = [n, config.imageSize, config.imageSize, config.channels];
  const size = n * config.imageSize * config.imageSize * config.channels;
  const gauss = normal(options.seed);

  const labels = conditional ? Array.from(options.labels as Int32Array) : undefined;
  const guidedLabels = guided ? [...(labels as number[]), ...new Array<number>(n).fill(config.numClasses)] : undefined;

  let x: tf.Tensor4D = tf.tensor4d(normalArray(size, gauss), shape);
  for (let i = taus.length - 1; i >= 0; i--) {
    const t = taus[i];
    const ab = schedule.alphaBars[t];
    const abPrev = i > 0 ? schedule.alphaBars[taus[i - 1]] : 1;
    const sigma = eta * Math.sqrt(((1 - abPrev) / (1 - ab)) * (1 - ab / abPrev));
    const z = i > 0 && sigma > 0 ? normalArray(size, gauss) : null;
    const next = tf.tidy(() => {
      let eps: tf.Tensor4D;
      if (guided) {
        const both = model.predictNoise(tf.concat([x, x], 0), new Array<number>(2 * n).fill(t), guidedLabels);
        const [cond, uncond] = tf.split(both, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
        eps = tf.sub(tf.mul(cond, 1 + guidance), tf.mul(uncond, guidance));
      } else {
        eps = model.predictNoise(x, new Array<number>(n).fill(t), labels);
      }
      // v = sqrt(ab) eps - sqrt(1 - ab) x0  gives  x0 = sqrt(ab) x - sqrt(1 - ab) v
      const x0Raw = options.prediction === 'v'
        ? tf.sub(tf.mul(x, Math.sqrt(ab)), tf.mul(eps, Math.sqrt(1 - ab)))
        : tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - ab))), Math.sqrt(ab));
      const x0 = tf.clipByValue(x0Raw, -1, 1);
      const epsClipped = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
      let out = tf.add(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(epsClipped, Math.sqrt(Math.max(1 - abPrev - sigma * sigma, 0))));
      if (z) out = tf.add(out, tf.mul(tf.tensor4d(z, shape), sigma));
      return out as tf.Tensor4D;
    });
    x.dispose();
    x = next;
    options.onStep?.(taus.length - i, taus.length);
    // yield to the event loop so a page or a socket stays responsive
    if ((taus.length - i) % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const images = tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1));
  x.dispose();
  try {
    return (await images.data()) as Float32Array;
  } finally {
    images.dispose();
  }
}
