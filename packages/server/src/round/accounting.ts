// What a round cost and what it did, for the records: one record per selected device (accepted or
// missed, with its modelled energy from the one energy model in packages/core), the round's
// summary, the run's totals and the checkpoint state that makes the round survive a crash.
import { addToRunTotals, costOfRound, frameBytes, receiveEnergyJ, type DeviceRoundRecord, type RoundSummary, type UpdateMeta } from '@fedbit/core';
import type { Device } from '../devices/registry';
import type { CheckpointState } from '../store';
import type { RoundContext } from './context';
import type { ClosedBy, Slot } from './open-round';
import { roundLearningRate, uplinkOf, type PlanTiming } from './plan';

/** Accounts an accepted update: the device's record (modelled energy of the steps it trained) and its memory for the next plan. */
/** `meta` without the update's norms in a secure round (they would leak): the device's last known ones stay. */
export function acceptUpdate(ctx: RoundContext, slot: Slot, meta: Pick<UpdateMeta, 'round' | 'samples' | 'steps' | 'trainMs' | 'loss'> & Partial<UpdateMeta>, bytes: number): DeviceRoundRecord {
  const { device } = slot;
  device.state = 'uploaded';
  device.lastReceivedBytes = bytes;
  if (meta.updateNormSq !== undefined) {
    device.updateNormSq = meta.updateNormSq;
    device.updateMaxAbs = meta.updateMaxAbs ?? null;
    device.updateScaleSq = meta.updateScaleSq ?? null;
  }
  device.lastLoss = meta.loss;
  // A split step's pace (its part, the link both ways, the server's turn) is not a whole-model step's.
  if (meta.steps > 0 && meta.trainMs > 0) (slot.mode === 'split' ? device.splitStepMs : device.stepMs).add(meta.trainMs / meta.steps);
  const uplinkBps = uplinkOf(ctx, device);
  // The work done: time-budgeted tasks may stop before the steps planned (never after: admit checks).
  const macs = (slot.work.macs * meta.steps) / slot.work.steps;
  // Split learning: the activations sent and gradients received every step cost the device too (core/src/split/energy.ts).
  const split = ctx.split?.deviceTraffic(device.id) ?? { activationBytes: 0, gradientBytes: 0 };
  const sent = bytes + split.activationBytes;
  const cost = costOfRound({ macs, trainBits: slot.trainBits, frameBytes: sent, downlinkBytes: (slot.downlinkBytes ?? 0) + split.gradientBytes, uplinkBps }, device.telemetry, ctx.config.energy);
  device.energyJ += cost.energyJ;
  slot.record = {
    ...recordBase(slot),
    status: 'accepted',
    samples: meta.samples,
    loss: meta.loss,
    trainMs: meta.trainMs,
    frameBytes: sent,
    uplinkBps,
    computeJ: cost.computeJ,
    transmitJ: cost.transmitJ,
    receiveJ: cost.receiveJ,
    energyJ: cost.energyJ,
  };
  ctx.metrics.updateAccepted(bytes, slot.assignment.bits);
  return slot.record;
}

function recordBase(slot: Slot): Pick<DeviceRoundRecord, 'deviceId' | 'name' | 'bits' | 'trainBits' | 'reason' | 'battery' | 'charging' | 'trainingMode' | 'modeReason' | 'keepRatio'> {
  const { device } = slot;
  return {
    // split runs only: how it trained, why, and how much of its part it kept
    ...(slot.mode === 'split' || slot.reason ? { trainingMode: slot.mode } : {}),
    ...(slot.reason ? { modeReason: slot.reason } : {}),
    ...(slot.mode === 'split' ? { keepRatio: slot.keepRatio } : {}),
    deviceId: device.id,
    name: device.name,
    bits: slot.assignment.bits,
    trainBits: slot.trainBits,
    reason: slot.assignment.reason,
    battery: device.telemetry.battery,
    charging: device.telemetry.charging,
  };
}

/** A device that sent nothing back: it still received the model (its receive energy is charged). */
export function missedRecord(ctx: RoundContext, slot: Slot): DeviceRoundRecord {
  const receiveJ = receiveEnergyJ(slot.downlinkBytes ?? 0, ctx.config.energy.receiveEnergyPerBitJ);
  slot.device.energyJ += receiveJ;
  return {
    ...recordBase(slot),
    status: 'missed',
    samples: 0,
    loss: null,
    trainMs: null,
    frameBytes: 0,
    uplinkBps: slot.device.uplinkBps.value ?? 0,
    computeJ: 0,
    transmitJ: 0,
    receiveJ,
    energyJ: receiveJ,
  };
}

export interface SummaryInput {
  round: number;
  startedAt: number;
  records: DeviceRoundRecord[];
  accepted: number;
  downlinkBytes: number;
  closedBy: ClosedBy;
  staleness?: number[];
  /** How long planning the round took (sync rounds). */
  plan?: PlanTiming;
}

export function roundSummary(ctx: RoundContext, input: SummaryInput): RoundSummary {
  const { records } = input;
  const sum = (pick: (r: DeviceRoundRecord) => number) => records.reduce((acc, r) => acc + pick(r), 0);
  const losses = records.filter((r) => r.status === 'accepted' && r.loss !== null).map((r) => r.loss as number);
  return {
    round: input.round,
    policy: ctx.policy.name,
    startedAt: new Date(input.startedAt).toISOString(),
    wallS: (Date.now() - input.startedAt) / 1000,
    participants: records.length,
    accepted: input.accepted,
    loss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
    computeJ: sum((r) => r.computeJ),
    transmitJ: sum((r) => r.transmitJ),
    receiveJ: sum((r) => r.receiveJ ?? 0),
    energyJ: sum((r) => r.energyJ),
    uplinkBytes: sum((r) => r.frameBytes),
    // what the accepted updates would have sent at 32 bits: a split device's front, the others' whole model
    uplinkBytesFp32: ctx.split
      ? sum((r) => (r.status === 'accepted' ? frameBytes(32, r.trainingMode === 'split' ? ctx.split!.plan.deviceSize : ctx.host.paramCount, ctx.config.codec.blockSize) : 0))
      : input.accepted * frameBytes(32, ctx.host.paramCount, ctx.config.codec.blockSize),
    downlinkBytes: input.downlinkBytes,
    bits: Object.fromEntries(records.map((r) => [r.deviceId, r.bits])),
    devices: records,
    mode: ctx.config.mode,
    closedBy: input.closedBy,
    learningRate: roundLearningRate(ctx.config, input.round),
    ...(input.staleness ? { staleness: input.staleness } : {}),
    ...(input.plan ? { planS: input.plan.planS, solveS: input.plan.solveS } : {}),
  };
}

/** Adds a committed summary to the run's totals and loss history. */
export function accountSummary(ctx: RoundContext, summary: RoundSummary): void {
  if (summary.loss !== null) ctx.run.lossHistory.push(summary.loss);
  addToRunTotals(ctx.run.totals, summary);
}

export function checkpointState(ctx: RoundContext, summary: RoundSummary | null): CheckpointState {
  const { run } = ctx;
  const lora = ctx.host.lora;
  const saved = (d: Device) => ({
    name: d.name,
    tokenHash: d.tokenHash,
    seat: d.seat,
    energyJ: d.energyJ,
    updateNormSq: d.updateNormSq,
    updateMaxAbs: d.updateMaxAbs,
    updateScaleSq: d.updateScaleSq,
    shard: d.shard,
    uplinkBps: d.uplinkBps.value,
  });
  return {
    runId: ctx.runId,
    round: run.completed,
    layoutFingerprint: ctx.host.fingerprint,
    lossHistory: run.lossHistory,
    totals: run.totals,
    devices: Object.fromEntries(ctx.devices.all().map((d) => [d.id, saved(d)])),
    nextShard: run.nextSeat,
    ...(run.rdp.length ? { rdp: run.rdp } : {}),
    ...(lora ? { lora: { base: lora.base.name, baseSha256: lora.base.sha256, method: lora.method, trainableLength: lora.trainableLength } } : {}),
    lastSummary: summary,
    savedAt: new Date().toISOString(),
  };
}
