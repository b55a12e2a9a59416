// Planning one device's task: its local work (fixed, or as many steps as fit its time budget:
// packages/core/src/energy/local-work.ts) and the inputs its precision policy reads (deviceDemand,
// from the energy model, the codec's frame sizes and variance bounds). MACs come from the live
// config and the planned steps, so a patched localSteps is priced from the next round on.
// Planning one device's task: how it trains (the whole model, or split: its front with the
// server, and how much of the front it keeps; packages/core/src/split), its local work (fixed, or
// as many steps as fit its time budget: packages/core/src/energy/local-work.ts) and the inputs its
// precision policy reads (deviceDemand, from the energy model, the codec's frame sizes and variance
// bounds). MACs come from the live config and the planned steps, so a patched localSteps is priced
// from the next round on.
import {
  TRAIN_SHARE_OF_DEADLINE,
  chooseTrainingMode,
  cutFrameBytes,
  demandShare,
  deviceDemand,
  frameBytes,
  learningRateAt,
  modeCosts,
  normSqPrior,
  planLocalWork,
  splitKeepRatio,
  splitMacsPerStep,
  trainBitsFor,
  type Assignment,
  type Bits,
  type DeviceDemand,
  type ModelRef,
  type TrainingMode,
} from '@fedbit/core';
import type { Device } from '../devices/registry';
import type { RoundContext } from './context';

export interface PlannedWork {
  steps: number;
  /** Time-budgeted work only: milliseconds of training the device may spend. */
  budgetMs?: number;
  macs: number;
}

/** How a device trains this round: the whole model, or split (its front, pruned to keepRatio). */
export interface PlannedMode {
  mode: TrainingMode;
  /** Split: the share of its part's weights the device keeps (1 = no pruning). */
  keepRatio: number;
  /** Set where the run lets the server choose (split.perDevice): why this mode. */
  reason?: string;
}

export interface PlannedTask extends PlannedMode {
  device: Device;
  assignment: Assignment;
  trainBits: number;
  /** FedAvg weight: the shard size the server itself computed. */
  weight: number;
  work: PlannedWork;
  /** Weights the device uploads: the whole model's, or (split) its front's. */
  uploadLength: number;
  /** The model version the task names (the whole model, or split: the front); set when it is sent. */
  model?: ModelRef;
  /** Bytes of the global model sent with the task (set when it is sent; the device's receive energy). */
  downlinkBytes?: number;
  /** A LoRA device's first task: the base's one download, part of downlinkBytes (kept if the task is sent again). */
  baseBytes?: number;
}

/** The learning rate of the round that trains from model version `round - 1` (the schedule runs over the run's rounds). */
export function roundLearningRate(config: RoundContext['config'], round: number): number {
  const { kind, warmupRounds, floor } = config.learningRateSchedule;
  return learningRateAt(config.learningRate, { kind, warmup: warmupRounds, total: Math.max(config.rounds, warmupRounds + 1), floor }, round - 1);
}

export function uplinkOf(ctx: RoundContext, device: Device): number {
  const hint = device.telemetry.connectionHint?.downlinkMbps;
  return device.uplinkBps.value ?? (hint ? hint * 1e6 : ctx.config.energy.defaultUplinkBps);
}

/** The device's training throughput: measured (its whole-model steps), else what it reports, else its class's. */
export function macsPerSecondOf(ctx: RoundContext, device: Device): number {
  const measured = device.stepMs.value;
  if (measured !== null && measured > 0) return ctx.host.macsPerStep(ctx.config.batchSize) / (measured / 1000);
  return device.telemetry.macsPerSecond ?? ctx.config.energy.macsPerSecond[device.telemetry.deviceClass];
}

/** Split: values crossing the cut per step after dropout (expected; the embedding is never dropped), and their seconds on the link both ways. */
function splitLink(ctx: RoundContext, device: Device): { keptPerStep: number; linkSPerStep: number } {
  const split = ctx.split!;
  const n = ctx.config.batchSize;
  const protectedPrefix = n * ctx.host.modelConfig.embedDim;
  const keptPerStep = Math.round(protectedPrefix + (n * split.plan.crossingPerImage - protectedPrefix) * (1 - split.config.dropout));
  const up = uplinkOf(ctx, device);
  const down = device.downlinkBps.value ?? up;
  const linkSPerStep = (cutFrameBytes(split.config.activationBits, keptPerStep) * 8) / up + (cutFrameBytes(split.config.gradientBits, keptPerStep) * 8) / down;
  return { keptPerStep, linkSPerStep };
}

/** Split: the keep ratio of this device's front, from its speed and demand within the run's bounds (core's splitKeepRatio). */
export function keepRatioOf(ctx: RoundContext, device: Device, deadlineMs: number): number {
  const { config: split, plan } = ctx.split!;
  if (split.minKeepRatio === undefined) return split.keepRatio;
  const transmitS = (frameBytes(32, plan.deviceSize, ctx.config.codec.blockSize) * 8) / uplinkOf(ctx, device);
  return splitKeepRatio({
    macsPerSecond: macsPerSecondOf(ctx, device),
    fullMacsPerStep: splitMacsPerStep(plan.deviceMacsPerImage, ctx.config.batchSize, 1),
    steps: ctx.config.localSteps,
    budgetS: Math.max(0, deadlineMs / 1000 - transmitS) * TRAIN_SHARE_OF_DEADLINE,
    linkSPerStep: splitLink(ctx, device).linkSPerStep,
    share: demandShare(device.telemetry, ctx.config.lowBatteryThreshold),
    min: split.minKeepRatio,
    max: split.keepRatio,
  });
}

export function planWork(ctx: RoundContext, device: Device, deadlineMs: number, mode: PlannedMode = { mode: 'full', keepRatio: 1 }): PlannedWork {
  const { config, host } = ctx;
  const split = mode.mode === 'split' ? ctx.split : null;
  // Split learning: the device computes its front only (forward + backward), fewer weights if pruned.
  const macsPerStep = split ? splitMacsPerStep(split.plan.deviceMacsPerImage, config.batchSize, mode.keepRatio) : host.macsPerStep(config.batchSize);
  if (config.localWork === 'fixed') return { steps: config.localSteps, macs: macsPerStep * config.localSteps };
  const macsPerSecond = device.telemetry.macsPerSecond ?? config.energy.macsPerSecond[device.telemetry.deviceClass];
  const uploadFrame = frameBytes(32, split ? split.plan.deviceSize : host.paramCount, config.codec.blockSize);
  const work = planLocalWork({
    maxSteps: config.localSteps,
    deadlineMs,
    // a split step's pace includes the link both ways and the server's turn: measured apart from whole-model steps
    measuredStepMs: split ? device.splitStepMs.value : device.stepMs.value,
    modelledStepMs: (macsPerStep / macsPerSecond) * 1000 + (split ? splitLink(ctx, device).linkSPerStep * 1000 : 0),
    transmitMs: ((uploadFrame * 8) / uplinkOf(ctx, device)) * 1000,
  });
  return { steps: work.steps, budgetMs: work.budgetMs, macs: macsPerStep * work.steps };
}

/**
 * How a device trains this round. Without a split section: whole. With one: split, unless
 * split.perDevice lets the server choose, by the device's modelled energy and latency of each
 * mode this round (core's chooseTrainingMode over modeCosts), priced at its last precision (or
 * the run's highest allowed before it has one).
 */
export function planMode(ctx: RoundContext, device: Device, deadlineMs: number): PlannedMode {
  const { config, host } = ctx;
  if (!ctx.split) return { mode: 'full', keepRatio: 1 };
  const keepRatio = keepRatioOf(ctx, device, deadlineMs);
  const split: PlannedMode = { mode: 'split', keepRatio };
  if (!ctx.split.config.perDevice) return split;
  const allowed = config.allowedBits as Bits[];
  const bits = (allowed as number[]).includes(device.lastBits ?? -1) ? (device.lastBits as Bits) : allowed.reduce((a, b) => (b > a ? b : a));
  const fullWork = planWork(ctx, device, deadlineMs);
  const splitWork = planWork(ctx, device, deadlineMs, split);
  const { plan, config: sc } = ctx.split;
  const costs = modeCosts({
    device: device.telemetry,
    energy: config.energy,
    uplinkBps: uplinkOf(ctx, device),
    bits,
    trainBits: trainBitsFor(bits, config.qat),
    fullMacs: fullWork.macs,
    paramCount: host.paramCount,
    blockSize: config.codec.blockSize,
    modelBytes: frameBytes(config.downlinkBits, host.paramCount, config.codec.blockSize),
    split: {
      deviceMacsPerImage: plan.deviceMacsPerImage,
      batchSize: config.batchSize,
      steps: splitWork.steps,
      keptPerStep: splitLink(ctx, device).keptPerStep,
      activationBits: sc.activationBits,
      gradientBits: sc.gradientBits,
      deviceParams: plan.deviceSize,
      keepRatio,
      downlinkBits: config.downlinkBits,
    },
  });
  const choice = chooseTrainingMode(costs.full, costs.split, config.deadlineS);
  return { mode: choice.mode, keepRatio: choice.mode === 'split' ? keepRatio : 1, reason: `${choice.reason}; priced at ${bits} bits` };
}

/**
 * Plans every picked device's task for a round: local work, then the policy's precisions.
 * `mergedWith`: how many updates each will be averaged with. A round's are averaged with each
 * other (the default); an async task planned alone is averaged with a buffer of K, so its weight
 * in the policy's error bound is about 1/K, not 1.
 */
/** How long planning a round took: all of it (the devices' demands and the solve), and the policy's solve alone. */
export interface PlanTiming {
  planS: number;
  solveS: number;
}

export function planTasks(ctx: RoundContext, picked: Device[], round: number, deadlineMs: number, mergedWith = picked.length, timing?: PlanTiming): PlannedTask[] {
  const { config, host } = ctx;
  const sizes = picked.map((d) => host.shardSizes[d.shard] ?? 1);
  const totalSize = (sizes.reduce((a, b) => a + b, 0) * mergedWith) / picked.length;
  const prior = normSqPrior(ctx.devices.all().flatMap((d) => (d.updateNormSq !== null ? [d.updateNormSq] : [])));
  const planStarted = performance.now();
  const modes = picked.map((d) => planMode(ctx, d, deadlineMs));
  const works = picked.map((d, i) => planWork(ctx, d, deadlineMs, modes[i]));
  const lengths = modes.map((m) => (m.mode === 'split' ? ctx.split!.plan.deviceSize : host.paramCount));
  const demands: DeviceDemand[] = picked.map((d, i) =>
    deviceDemand(
      {
        id: d.id,
        weight: sizes[i] / totalSize,
        telemetry: d.telemetry,
        updateNormSq: d.updateNormSq ?? prior,
        // max|u| and the block scales tighten V_k(n); unknown until a first update.
        updateMaxAbs: d.updateNormSq !== null ? (d.updateMaxAbs ?? undefined) : undefined,
        updateScaleSq: d.updateNormSq !== null ? (d.updateScaleSq ?? undefined) : undefined,
        uplinkBps: uplinkOf(ctx, d),
        macs: works[i].macs,
      },
      { paramCount: lengths[i], blockSize: config.codec.blockSize, allowedBits: config.allowedBits as Bits[], qat: config.qat, energy: config.energy },
    ),
  );
  const solveStarted = performance.now();
  const plan = ctx.policy.assign(demands, {
    round,
    totalRounds: config.rounds,
    allowedBits: config.allowedBits as Bits[],
    deadlineS: config.deadlineS,
    lossHistory: ctx.run.lossHistory,
    learningRateScale: roundLearningRate(config, round) / config.learningRate,
    lowBatteryThreshold: config.lowBatteryThreshold,
  });
  const planEnded = performance.now();
  const planS = (planEnded - planStarted) / 1000;
  const solveS = (planEnded - solveStarted) / 1000;
  ctx.metrics.planned(planS, solveS);
  if (timing) Object.assign(timing, { planS, solveS });
  return picked.map((device, i) => {
    const assignment = plan.get(device.id);
    if (!assignment) throw new Error(`policy ${ctx.policy.name} gave no precision to device ${device.id}`);
    // split steps train in float32 (the cut's frames carry their own precision)
    const trainBits = modes[i].mode === 'split' ? 32 : trainBitsFor(assignment.bits, config.qat);
    return { device, assignment, trainBits, weight: sizes[i], work: works[i], uploadLength: lengths[i], ...modes[i] };
  });
}
