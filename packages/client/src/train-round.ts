// One task on the device, with no socket (the runtime sends what this returns):
//   decode the global model of exactly this task (never train on an older one) ->
//   local steps of quantization-aware training on this device's own shard, as many as the task
//   asks and its time budget allows (packages/core/src/energy/local-work.ts) ->
//   update = local - global, with its norm and max|u| (the policy's estimate of V_k(n) next time) ->
//   plus the error-feedback residual, scaled by 1/(1+omega(bits)) so it stays bounded even at
//   1 bit (Beznosikov et al., arXiv 2002.12410) -> encoded at the assigned precision.
import { anotherStepFits, blockScaleSq, decodeUpdate, encodeUpdate, xorshift32, type Task, type UpdateMeta } from '@fedbit/core';
import { createTrainer, type TrainableModel } from '@fedbit/diffusion';
import { labelsOf, toFloatImages } from '@fedbit/datasets';
import { applyAttack } from './attack';
import type { TrainEnv } from './train-env';

export interface TrainHooks {
  /** Polled between steps: true once the task is no longer wanted. */
  isStale(): boolean;
  /** After each step: its number, the steps asked for, the loss, and the milliseconds since training started. */
  onStep(step: number, steps: number, loss: number, elapsedMs: number): void;
}

export interface TrainedUpdate {
  frame: Uint8Array;
  /** What was encoded (update + residual): error feedback remembers it once the upload is accepted. */
  compensated: Float32Array;
  meta: UpdateMeta;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * What a task trains: a model for the trainer and the flat vector the task's model frame holds and
 * the update is taken of. Full training: every weight (this file). LoRA: the adapter vector on the
 * frozen base (train-lora-round.ts).
 */
export interface TrainTarget {
  model: TrainableModel;
  /** Length of the vector (the frame's element count). */
  length: number;
  set(vector: Float32Array): void;
  read(): Promise<Float32Array>;
}

/** Trains one task of full training. Resolves with the encoded update, or null when the task went stale on the way. */
export async function trainRound(env: TrainEnv, task: Task, modelFrame: Uint8Array, hooks: TrainHooks): Promise<TrainedUpdate | null> {
  const { model } = env;
  const target: TrainTarget = { model, length: model.paramCount, set: (v) => model.setWeights(v), read: () => model.readWeights() };
  return trainTarget(target, env, task, modelFrame, hooks);
}

/** One task on any target: decode, train, take the update, error feedback, encode. */
export async function trainTarget(target: TrainTarget, env: TrainEnv, task: Task, modelFrame: Uint8Array, hooks: TrainHooks): Promise<TrainedUpdate | null> {
  const { dataset, shard } = env;
  // The model frame carries the version it trains toward (version + 1): in sync mode that is the round.
  const global = decodeUpdate(modelFrame, { length: target.length, round: (task.version ?? task.round - 1) + 1 });
  target.set(global);
  const trainer = createTrainer(target.model, {
    learningRate: task.learningRate,
    batchSize: task.batchSize,
    schedule: env.schedule,
    trainBits: task.trainBits,
    seed: task.seed,
  });
  const started = Date.now();
  let steps = 0;
  let loss = 0;
  try {
    // Batches drawn with the task's seed, so a task is the same work wherever it runs.
    const random = xorshift32(task.seed);
    const batch = new Int32Array(task.batchSize);
    while (anotherStepFits(steps, task.localSteps, Date.now() - started, task.timeBudgetMs)) {
      if (hooks.isStale()) return null;
      const stepStarted = Date.now();
      for (let i = 0; i < batch.length; i++) batch[i] = shard[random() % shard.length];
      loss = await trainer.step({ images: toFloatImages(dataset, batch), labels: labelsOf(dataset, batch), count: batch.length });
      if (env.slowdown && env.slowdown > 1) await sleep((env.slowdown - 1) * (Date.now() - stepStarted));
      steps++;
      hooks.onStep(steps, task.localSteps, loss, Date.now() - started);
      await sleep(0); // let socket messages (a newer task, a cancel) through
    }
  } finally {
    trainer.dispose();
  }
  const trainMs = Date.now() - started;

  const local = await target.read();
  const update = new Float32Array(local.length);
  let updateNormSq = 0;
  let updateMaxAbs = 0;
  for (let i = 0; i < update.length; i++) {
    const d = local[i] - global[i];
    update[i] = d;
    updateNormSq += d * d;
    if (Math.abs(d) > updateMaxAbs) updateMaxAbs = Math.abs(d);
  }
  const updateScaleSq = blockScaleSq(update, task.blockSize);
  if (env.attack) applyAttack(update, env.attack);
  const compensated = task.errorFeedback ? env.errorFeedback.apply(update, { bits: task.bits, blockSize: task.blockSize }) : update;
  const frame = encodeUpdate(compensated, { bits: task.bits, round: task.round, blockSize: task.blockSize, seed: task.seed });
  if (hooks.isStale()) return null;
  return {
    frame,
    compensated,
    meta: { round: task.round, samples: shard.length, steps, trainMs, loss, updateNormSq, updateMaxAbs, updateScaleSq },
  };
}
