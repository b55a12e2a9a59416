// Sending one device its task: what to train (the model frame, the steps or time budget, the
// precision) and the seed its batches and quantization draws follow from. The downlink timing of
// the acknowledgement feeds the device's measured downlink rate.
import type { RunMode, Task } from '@fedbit/core';
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
  modelFrame: Uint8Array;
}

export function sendTask(ctx: RoundContext, planned: PlannedTask, envelope: TaskEnvelope): void {
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
    errorFeedback: config.codec.errorFeedback,
    blockSize: config.codec.blockSize,
    version: envelope.version,
    ...(envelope.mode === 'async' ? { mode: 'async' as const } : {}),
    ...(planned.work.budgetMs !== undefined ? { timeBudgetMs: planned.work.budgetMs } : {}),
  };
  device.state = 'training';
  device.progress = null;
  planned.downlinkBytes = envelope.modelFrame.byteLength;
  void ctx.transport.sendTask(device, task, envelope.modelFrame).then((ackMs) => {
    if (ackMs != null) ctx.devices.recordDownlink(device, envelope.modelFrame.byteLength, ackMs);
  });
}
