// Sending one device its task: what to train (the model version and its hash, which the device
// fetches over HTTP; the steps or time budget; the precision) and the seed its batches and
// quantization draws follow from.
import type { ModelRef, RunMode, SecAggTask, Task } from '@fedbit/core';
import type { RoundContext } from './context';
import { roundLearningRate, type PlannedTask } from './plan';
import { taskSeed } from './selection';

export interface TaskEnvelope {
  /** The task's number: the round in sync mode, the task's own number in async mode. */
  round: number;
  /** The model version the task trains from. */
  version: number;
  mode: RunMode;
  deadlineAt: number;
  /** The model version the task trains from, published in ctx.models. */
  model: ModelRef;
  /** A secure round: the common grid the device encodes its update on (error feedback is off: the grid's rounding is unbiased). */
  secure?: SecAggTask;
}

/** Sends the task; returns the bytes the device receives for it (the model it names, and in a LoRA run the base once). */
export function sendTask(ctx: RoundContext, planned: PlannedTask, envelope: TaskEnvelope): number {
  const { config } = ctx;
  const { device } = planned;
  const task: Task = {
    round: envelope.round,
    bits: planned.assignment.bits,
    trainBits: planned.trainBits,
    localSteps: planned.work.steps,
    batchSize: config.batchSize,
    learningRate: roundLearningRate(config, envelope.version + 1),
    deadlineMs: Math.max(0, envelope.deadlineAt - Date.now()),
    seed: taskSeed(config.seed, envelope.round, device.seat),
    // Split learning uploads the front only (the residual is sized to the whole model), and a secure
    // round's grid replaces the per-device codec: no error feedback in either.
    errorFeedback: config.codec.errorFeedback && planned.mode !== 'split' && !envelope.secure,
    blockSize: config.codec.blockSize,
    version: envelope.version,
    model: envelope.model,
    ...(envelope.mode === 'async' ? { mode: 'async' as const } : {}),
    // A LoRA run: the model this task names is the global adapter vector (the welcome named the base).
    ...(ctx.host.lora ? { lora: true as const } : {}),
    ...(envelope.secure ? { secureAggregation: envelope.secure } : {}),
    ...(planned.work.budgetMs !== undefined ? { timeBudgetMs: planned.work.budgetMs } : {}),
    // Split: the run's cut and frames, and this device's own keep ratio (plan.ts keepRatioOf).
    ...(ctx.split && planned.mode === 'split' ? { split: { cut: ctx.split.config.cut, dropout: ctx.split.config.dropout, activationBits: ctx.split.config.activationBits, gradientBits: ctx.split.config.gradientBits, keepRatio: planned.keepRatio } } : {}),
  };
  device.state = 'training';
  device.progress = null;
  // What the device receives for this task (its receive energy): the model it is told to fetch. A
  // device that still holds this version (async mode, a second task on the same version) fetches
  // nothing, so this is an upper bound there; in sync mode every task names a new version.
  // A LoRA device fetches the frozen base once (its welcome names it): charged with its first task,
  // when it is first needed. A device that joins again after a restart of the server is charged
  // again (it may hold the base in its HTTP cache: an upper bound there).
  if (ctx.host.lora && !device.baseCharged) {
    planned.baseBytes = ctx.host.lora.base.bytes;
    device.baseCharged = true;
  }
  planned.model = envelope.model;
  planned.downlinkBytes = envelope.model.bytes + (planned.baseBytes ?? 0);
  device.lastModelBytes = envelope.model.bytes;
  ctx.transport.sendTask(device, task);
  return planned.downlinkBytes;
}
