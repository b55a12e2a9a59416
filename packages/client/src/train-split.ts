// One split-learning task on the device (docs/SPLIT.md; SplitFed, Thapa et al., arXiv 2004.12088;
// the lightweight scheme of Zhang, Ni, Wang, arXiv 2412.06414), the sibling of train-round.ts:
//   the device part (the U-Net's front up to the cut: the model the task names is the front only), pruned by magnitude
//   to the task's keep ratio -> per local step: the DDPM objective's x_t (noise from a seed the
//   server rebuilds), the front's forward, activations dropped (rate p, rescaled by 1/(1-p)) and
//   encoded -> the server's gradient at the cut -> the front's backward, an Adam step, the mask
//   re-applied -> split:end -> update = local front - global front (the front's weights only),
//   encoded at the task's precision and uploaded through device:update like any update.
// The socket is behind SplitLink, so this file, like train-round.ts, holds none.
import * as tf from '@tensorflow/tfjs-core';
import {
  anotherStepFits,
  applyMask,
  blockScaleSq,
  decodeCut,
  decodeUpdate,
  dropAndPack,
  encodeCut,
  encodeUpdate,
  gradientThroughDropout,
  keepMask,
  magnitudeMask,
  splitNoise,
  xorshift32,
  type Ack,
  type SplitBackward,
  type SplitEnd,
  type SplitForward,
  type SplitTask,
  type Task,
} from '@fedbit/core';
import { Adam, createDevicePart, makeSchedule, splitPlan, type DevicePart } from '@fedbit/diffusion';
import { labelsOf, toFloatImages } from '@fedbit/datasets';
import type { TrainEnv } from './train-env';
import type { TrainedUpdate, TrainHooks } from './train-round';

/** How a split task reaches the server (connection.ts behind it in the runtime; a test may hand its own). */
export interface SplitLink {
  forward(meta: SplitForward, frame: Uint8Array): Promise<{ reply: Ack<SplitBackward>; frame: Uint8Array | null }>;
  end(meta: SplitEnd): Promise<Ack>;
}

/** Bytes this task sent and received at the cut (its energy; the server counts the same). */
export interface SplitTaskTraffic {
  activationBytes: number;
  gradientBytes: number;
}

/** Probability of replacing a label by "no label" (the trainer's default for conditional models). */
const COND_DROPOUT = 0.1;

/** Writes `mask` (1 kept) into the part's variables. */
function maskVariables(part: DevicePart, masks: tf.Tensor[] | null): void {
  if (!masks) return;
  part.variables.forEach((v, i) => tf.tidy(() => v.assign(tf.mul(v, masks[i]))));
}

export async function trainSplitRound(
  env: TrainEnv,
  task: Task & { split: SplitTask },
  modelFrame: Uint8Array,
  link: SplitLink,
  hooks: TrainHooks,
): Promise<(TrainedUpdate & { traffic: SplitTaskTraffic }) | null> {
  const { model, dataset, shard } = env;
  const { config } = model;
  const split = task.split;
  const plan = splitPlan(config, split.cut);
  // A split task's model is the front only (the first deviceSize weights of the layout).
  const global = decodeUpdate(modelFrame, { length: plan.deviceSize, round: (task.version ?? task.round - 1) + 1 });
  const front = global.slice();
  // Dynamic pruning: the mask from this round's weights, applied before training and after every step.
  const mask = split.keepRatio < 1 ? magnitudeMask(front, split.keepRatio) : null;
  if (mask) applyMask(front, mask);
  const part = createDevicePart(config, split.cut, front);
  const masks = mask ? part.entries.map((e) => tf.tensor(Float32Array.from(mask.subarray(e.offset, e.offset + e.size)), e.shape)) : null;
  const adam = new Adam(part.variables);
  const schedule = makeSchedule(env.schedule);
  const pixels = config.imageSize * config.imageSize * config.channels;
  const random = xorshift32(task.seed);
  const n = task.batchSize;
  const batch = new Int32Array(n);
  const traffic: SplitTaskTraffic = { activationBytes: 0, gradientBytes: 0 };
  const started = Date.now();
  let steps = 0;
  let loss = 0;
  try {
    while (anotherStepFits(steps, task.localSteps, Date.now() - started, task.timeBudgetMs)) {
      if (hooks.isStale()) return null;
      const step = steps + 1;
      for (let i = 0; i < n; i++) batch[i] = shard[random() % shard.length];
      const images = toFloatImages(dataset, batch);
      const datasetLabels = labelsOf(dataset, batch);
      const noiseSeed = random() >>> 0;
      const dropSeed = random() >>> 0;
      const eps = splitNoise(noiseSeed, n * pixels);
      const t = new Float32Array(n);
      const xt = new Float32Array(n * pixels);
      for (let i = 0; i < n; i++) {
        const ti = Math.min(Math.floor((random() / 2 ** 32) * schedule.steps), schedule.steps - 1);
        t[i] = ti;
        const a = Math.sqrt(schedule.alphaBars[ti]);
        const b = Math.sqrt(1 - schedule.alphaBars[ti]);
        for (let j = i * pixels; j < (i + 1) * pixels; j++) xt[j] = a * (2 * images[j] - 1) + b * eps[j];
      }
      let labels: Int32Array | undefined;
      if (config.numClasses > 0) {
        labels = new Int32Array(n);
        for (let i = 0; i < n; i++) labels[i] = random() / 2 ** 32 < COND_DROPOUT || !datasetLabels ? config.numClasses : datasetLabels[i];
      }
      const x = tf.tensor4d(xt, [n, config.imageSize, config.imageSize, config.channels]);
      try {
        // forward the front, flatten what crosses the cut: [emb, skip_1, ..., skip_cut]
        const out = part.forward(x, t, labels);
        const parts = [out.emb, ...out.skips];
        const flat = new Float32Array(n * plan.crossingPerImage);
        let offset = 0;
        for (const p of parts) {
          const values = (await p.data()) as Float32Array;
          flat.set(values, offset);
          offset += values.length;
        }
        tf.dispose(parts);
        const protectedPrefix = n * config.embedDim;
        const keep = keepMask(flat.length, protectedPrefix, split.dropout, dropSeed);
        const packed = dropAndPack(flat, keep, protectedPrefix, split.dropout);
        const frame = encodeCut(packed, split.activationBits, step, dropSeed);
        traffic.activationBytes += frame.byteLength;
        const answer = await link.forward({ round: task.round, step, batch: n, dropSeed, noiseSeed }, frame);
        if (!answer.reply.ok || !answer.frame) {
          if (hooks.isStale()) return null;
          throw new Error(`split step ${step} refused: ${answer.reply.ok ? 'no gradient frame' : answer.reply.reason}`);
        }
        traffic.gradientBytes += answer.frame.byteLength;
        loss = answer.reply.loss;
        // the gradient at the cut, through dropout, back into the crossing tensors' shapes
        const grad = gradientThroughDropout(decodeCut(answer.frame, { length: packed.length, bits: split.gradientBits, step }), keep, protectedPrefix, split.dropout);
        offset = 0;
        const atCut = plan.crossing.map((shape) => {
          const size = n * shape.reduce((a, b) => a * b, 1);
          const g = tf.tensor(grad.subarray(offset, offset + size), [n, ...shape]);
          offset += size;
          return g;
        });
        const grads = part.gradients(x, t, labels, { emb: atCut[0], skips: atCut.slice(1) });
        adam.applyGradients(grads, task.learningRate);
        tf.dispose([...atCut, ...Object.values(grads)]);
        maskVariables(part, masks);
      } finally {
        x.dispose();
      }
      steps++;
      hooks.onStep(steps, task.localSteps, loss, Date.now() - started);
    }
    if (steps > 0) {
      const ended = await link.end({ round: task.round, steps });
      if (!ended.ok) {
        if (hooks.isStale()) return null;
        throw new Error(`split:end refused: ${ended.reason}`);
      }
    }
    const trainMs = Date.now() - started;
    const local = part.getWeights();
    // The update is the front's change only: the server trained the rest and folds it in itself.
    const update = new Float32Array(local.length);
    let updateNormSq = 0;
    let updateMaxAbs = 0;
    for (let i = 0; i < local.length; i++) {
      const d = local[i] - global[i];
      update[i] = d;
      updateNormSq += d * d;
      updateMaxAbs = Math.max(updateMaxAbs, Math.abs(d));
    }
    const updateScaleSq = blockScaleSq(update, task.blockSize);
    // No error feedback in split tasks (the server sends errorFeedback: false): the residual is the whole model's.
    const compensated = update;
    const frame = encodeUpdate(compensated, { bits: task.bits, round: task.round, blockSize: task.blockSize, seed: task.seed });
    if (hooks.isStale() || steps === 0) return null;
    return {
      frame,
      compensated,
      meta: { round: task.round, samples: shard.length, steps, trainMs, loss, updateNormSq, updateMaxAbs, updateScaleSq },
      traffic,
    };
  } finally {
    adam.dispose();
    if (masks) tf.dispose(masks);
    part.dispose();
  }
}
