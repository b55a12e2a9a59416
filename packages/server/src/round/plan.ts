// Planning one device's task: its local work (fixed, or as many steps as fit its time budget:
// packages/core/src/energy/local-work.ts) and the inputs its precision policy reads (deviceDemand,
// from the energy model, the codec's frame sizes and variance bounds). MACs come from the live
// config and the planned steps, so a patched localSteps is priced from the next round on.
import { deviceDemand, frameBytes, learningRateAt, normSqPrior, planLocalWork, splitMacsPerStep, trainBitsFor, type Assignment, type Bits, type DeviceDemand } from '@fedbit/core';
import type { Device } from '../devices/registry';
import type { RoundContext } from './context';

export interface PlannedWork {
  steps: number;
  /** Time-budgeted work only: milliseconds of training the device may spend. */
  budgetMs?: number;
  macs: number;
}

export interface PlannedTask {
  device: Device;
  assignment: Assignment;
  trainBits: number;
  /** FedAvg weight: the shard size the server itself computed. */
  weight: number;
  work: PlannedWork;
  /** Bytes of the global model sent with the task (set when it is sent; the device's receive energy). */
  downlinkBytes?: number;
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

export function planWork(ctx: RoundContext, device: Device, deadlineMs: number): PlannedWork {
  const { config, host } = ctx;
  // Split learning: the device computes its front only (forward + backward), fewer weights if pruned.
  const macsPerStep = ctx.split ? splitMacsPerStep(ctx.split.plan.deviceMacsPerImage, config.batchSize, ctx.split.config.keepRatio) : host.macsPerStep(config.batchSize);
  if (config.localWork === 'fixed') return { steps: config.localSteps, macs: macsPerStep * config.localSteps };
  const macsPerSecond = device.telemetry.macsPerSecond ?? config.energy.macsPerSecond[device.telemetry.deviceClass];
  const fullFrame = frameBytes(32, host.paramCount, config.codec.blockSize);
  const work = planLocalWork({
    maxSteps: config.localSteps,
    deadlineMs,
    measuredStepMs: device.stepMs.value,
    modelledStepMs: (macsPerStep / macsPerSecond) * 1000,
    transmitMs: ((fullFrame * 8) / uplinkOf(ctx, device)) * 1000,
  });
  return { steps: work.steps, budgetMs: work.budgetMs, macs: macsPerStep * work.steps };
}

/**
 * Plans every picked device's task for a round: local work, then the policy's precisions.
 * `mergedWith`: how many updates each will be averaged with. A round's are averaged with each
 * other (the default); an async task planned alone is averaged with a buffer of K, so its weight
 * in the policy's error bound is about 1/K, not 1.
 */
export function planTasks(ctx: RoundContext, picked: Device[], round: number, deadlineMs: number, mergedWith = picked.length): PlannedTask[] {
  const { config, host } = ctx;
  const sizes = picked.map((d) => host.shardSizes[d.shard] ?? 1);
  const totalSize = (sizes.reduce((a, b) => a + b, 0) * mergedWith) / picked.length;
  const prior = normSqPrior(ctx.devices.all().flatMap((d) => (d.updateNormSq !== null ? [d.updateNormSq] : [])));
  const planStarted = performance.now();
  const works = picked.map((d) => planWork(ctx, d, deadlineMs));
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
      { paramCount: ctx.split ? ctx.split.plan.deviceSize : host.paramCount, blockSize: config.codec.blockSize, allowedBits: config.allowedBits as Bits[], qat: config.qat, energy: config.energy },
    ),
  );
  const plan = ctx.policy.assign(demands, {
    round,
    totalRounds: config.rounds,
    allowedBits: config.allowedBits as Bits[],
    deadlineS: config.deadlineS,
    lossHistory: ctx.run.lossHistory,
    learningRateScale: roundLearningRate(config, round) / config.learningRate,
    lowBatteryThreshold: config.lowBatteryThreshold,
  });
  ctx.metrics.planned((performance.now() - planStarted) / 1000);
  return picked.map((device, i) => {
    const assignment = plan.get(device.id);
    if (!assignment) throw new Error(`policy ${ctx.policy.name} gave no precision to device ${device.id}`);
    return { device, assignment, trainBits: ctx.split ? 32 : trainBitsFor(assignment.bits, config.qat), weight: sizes[i], work: works[i] };
  });
}
