// One securely aggregated round, top to bottom: the aggregator learns the sum of the round's
// updates and nothing about any one of them (docs/SECURITY.md).
//   select -> plan (the common grid: core/quant/grid.ts) -> open -> send -> train + advertise
//   -> share -> mask -> unmask (secure-steps.ts) -> decode the exact sum -> commit
// The mean is unweighted (a sample count per device would be one more thing to hide). When fewer
// than max(quorum, 2) devices are left after any step, or too few shares come back to unmask, the
// round is abandoned: the model is unchanged and the next round runs.
// With privacy on, the grid gives way to the distributed discrete Gaussian (core/privacy/ddg.ts):
// each device clips, rotates (privacy.rotation, default on), rounds and adds its share of the noise,
// planned for minSenders devices; fewer
// senders than that and the round is abandoned before unmasking (the sum would carry too little
// noise), and the accountant charges each round with the noise of the devices that actually sent.
import { createAggregator, ddgRoundRdp, decodeDdgMean, decodeGridMean, gridBitsOf, gridScales, hash32, planDdg, type DdgPlan, type Grid, type RoundSummary, type SecAggTask } from '@fedbit/core';
import type { Device } from '../devices/registry';
import { acceptUpdate, missedRecord, roundSummary } from './accounting';
import { commitVersion } from './commit';
import type { RoundContext } from './context';
import { sendTask } from './dispatch';
import { mergeProblem, updateNormBound } from './merge-guard';
import { OpenRound } from './open-round';
import { planTasks, roundLearningRate, type PlanTiming } from './plan';
import { outcome } from './run-round';
import { SecureSteps } from './secure-steps';
import { selectDevices } from './selection';

/** What the aggregator sees in a secure round, for the dashboard. */
export const SECURE_NOTE = 'secure aggregation on: the server sees only the sum';

export async function runSecureRound(ctx: RoundContext, round: number, eligible: Device[], setOpen: (open: OpenRound | null, steps: SecureSteps | null) => void): Promise<RoundSummary | null> {
  const { config, run, host } = ctx;
  const secure = config.secureAggregation!;
  const startedAt = Date.now();
  const need = Math.max(config.quorum, 2);
  const stopped = (): boolean => run.phase === 'stopped';

  // ---- select and plan: precisions, then the round's common grid ----
  const picked = selectDevices(eligible, config.devicesPerRound, config.seed, round);
  const plan: PlanTiming = { planS: 0, solveS: 0 };
  const tasks = planTasks(ctx, picked, round, config.deadlineS * 1000, picked.length, plan);
  for (const task of tasks) task.device.lastBits = task.assignment.bits;
  const bound = secure.bound ?? roundLearningRate(config, round) * config.localSteps;
  const grid: Grid = { bits: gridBitsOf(tasks.map((t) => t.assignment.bits)), blockSize: config.codec.blockSize, scales: gridScales(host.paramCount, config.codec.blockSize, bound, run.lastMeanUpdate, secure.headroom) };
  // The run's norm bound (maxUpdateNormRatio x the model's norm), applied by each device before the grid.
  const clipNorm = updateNormBound(run.global, null, config.maxUpdateNormRatio);
  const dp = config.privacy ? ddgPlanOf(config.privacy, host.paramCount, tasks.length, need, hash32(`${config.seed}:ddg-rotation:${round}`)) : null;
  const task: SecAggTask = {
    gridBits: grid.bits,
    scales: dp ? [] : Array.from(grid.scales),
    stepDeadlineS: secure.stepDeadlineS,
    ...(clipNorm !== null ? { clipNorm } : {}),
    ...(dp ? { dp: { clipNorm: dp.clipNorm, gamma: dp.gamma, localSigma: dp.localSigma, delta2: dp.delta2, minSenders: dp.minSenders, modulusBits: dp.modulusBits, ...(dp.rotationSeed !== undefined ? { rotationSeed: dp.rotationSeed } : {}) } } : {}),
  };

  // ---- open and send ----
  const model = ctx.models.publish(round - 1, run.global, { bits: config.downlinkBits, blockSize: config.codec.blockSize });
  // No update frame comes in a secure round: the open round only tracks who trained (the advertise step).
  const open = new OpenRound({ round, startedAt, model, aggregator: createAggregator({ rule: 'fedavg' }, { length: 1 }), deadlineS: config.deadlineS, maxUpdateBytes: ctx.maxUpdateBytes, secure: task }, tasks);
  const steps = new SecureSteps(open, {
    round,
    length: host.paramCount,
    bits: grid.bits,
    ...(dp ? { modulusBits: dp.modulusBits } : {}),
    thresholdRatio: secure.threshold,
    graphSeed: hash32(`${config.seed}:secagg:${round}`),
    stepDeadlineMs: secure.stepDeadlineS * 1000,
    send: (device, event, payload, data) => ctx.transport.secagg(device, event, payload, data),
  });
  setOpen(open, steps);
  ctx.metrics.roundStarted(round);
  ctx.log.info({ round, gridBits: grid.bits, ...(dp ? { modulusBits: dp.modulusBits, minSenders: dp.minSenders } : {}), devices: tasks.map((t) => `${t.device.name}:${t.assignment.bits}b`) }, 'secure round opened');
  const envelope = { round, version: round - 1, mode: 'sync' as const, deadlineAt: open.deadlineAt, model, secure: task };
  let downlinkBytes = 0;
  for (const slot of open.slots.values()) downlinkBytes += sendTask(ctx, slot, envelope);
  ctx.notify();

  const abandon = (roster: number, survivors: number, why: string): null => {
    steps.close();
    setOpen(null, null);
    for (const slot of open.slots.values()) {
      ctx.transport.cancel(slot.device, round, `round ${round} was abandoned: ${why}`);
      if (slot.device.state === 'training' || slot.device.state === 'uploaded') slot.device.state = 'idle';
    }
    const message = `round ${round} was abandoned: ${why}; the model is unchanged and the round runs again`;
    run.droppedRounds++;
    run.lastRound = { ...outcome(round, 'dropped', survivors, open.slots.size, config.quorum, open.closedBy ?? 'deadline', config.deadlineS, config.localWork), message };
    run.secure = { round, outcome: 'abandoned', roster, survivors, dropped: roster - survivors, message };
    ctx.log.warn({ round, roster, survivors, why }, 'secure round abandoned');
    ctx.metrics.roundDropped();
    ctx.notify();
    return null;
  };

  // ---- train + advertise keys (the task's deadline) ----
  await open.whenClosed;
  for (const slot of open.slots.values()) if (slot.status === 'pending') slot.status = 'gone';
  if (stopped()) return abandon(0, 0, 'the run stopped');
  const advertised = open.accepted.length;
  if (advertised < need) return abandon(advertised, 0, `${advertised} of ${open.slots.size} devices finished training and advertised keys, ${need} needed`);

  // ---- share keys, mask, unmask (each with its step deadline) ----
  const sharers = await steps.shareStep();
  if (sharers.length < need || stopped()) return abandon(advertised, 0, `${sharers.length} of ${advertised} devices shared keys, ${need} needed`);
  const senders = await steps.maskStep();
  if (senders.length < need || stopped()) return abandon(advertised, senders.length, `${senders.length} of ${sharers.length} devices sent their masked input, ${need} needed`);
  // Before unmasking: once unmasked, the sum is seen, and with fewer senders it carries less noise than planned.
  if (dp && senders.length < dp.minSenders) return abandon(advertised, senders.length, `${senders.length} of ${sharers.length} devices sent their masked input; the privacy noise is planned for at least ${dp.minSenders}, so the sum is not unmasked`);
  await steps.unmaskStep();
  let sum: Uint32Array;
  try {
    sum = await steps.finish();
  } catch (error) {
    return abandon(advertised, senders.length, `the sum could not be unmasked (${(error as Error).message})`);
  }
  setOpen(null, null);
  for (const slot of open.slots.values()) if (slot.device.state === 'training' || slot.device.state === 'uploaded') slot.device.state = 'idle';

  // ---- decode the exact sum on the grid and commit ----
  const mean = dp ? decodeDdgMean(sum, senders.length, dp) : decodeGridMean(sum, senders.length, grid);
  const problem = mergeProblem(run.global, mean);
  if (problem) return abandon(advertised, senders.length, problem);
  const inSum = new Set(senders.map((m) => m.device.id));
  const records = [...open.slots.values()].map((slot) => {
    const member = steps.members.find((m) => m.device.id === slot.device.id);
    if (!member || !inSum.has(slot.device.id)) return missedRecord(ctx, slot);
    const { samples, steps: trained, trainMs, loss } = member.meta;
    return acceptUpdate(ctx, slot, { round, samples, steps: trained, trainMs, loss }, member.bytes);
  });
  const summary = roundSummary(ctx, { round, startedAt, records, accepted: senders.length, downlinkBytes, closedBy: open.closedBy ?? 'deadline', plan });
  const message = `round ${round}: the sum of ${senders.length} masked updates was committed (${advertised - senders.length} of ${advertised} dropped)`;
  run.lastRound = { ...outcome(round, 'committed', senders.length, open.slots.size, config.quorum, open.closedBy ?? 'deadline', config.deadlineS, config.localWork), message };
  const samplingRate = picked.length / eligible.length;
  const rdp = dp ? ddgRoundRdp(samplingRate, { localSigma: dp.localSigma, delta2: dp.delta2, length: dp.length, senders: senders.length }) : undefined;
  await commitVersion(ctx, summary, mean, samplingRate, rdp);
  run.secure = { round, outcome: 'committed', roster: advertised, survivors: senders.length, dropped: advertised - senders.length, message };
  run.lastMeanUpdate = mean;
  return summary;
}

/**
 * The round's noise plan: minSenders = the larger of the round's minimum and privacy.survival of the
 * selected devices; the modulus is sized for all of them sending (checked at start for
 * devicesPerRound, so it fits here). With privacy.rotation (default on) the round's rotation seed
 * goes in the plan: public, and chosen by the aggregator, which cannot use it against privacy (the
 * rotation is orthonormal: the sensitivity is the same for any seed), only to make values wrap.
 */
export function ddgPlanOf(privacy: { noiseMultiplier: number; clipNorm: number; survival?: number; rotation?: boolean }, length: number, selected: number, need: number, rotationSeed: number): DdgPlan {
  const minSenders = Math.max(need, Math.ceil((privacy.survival ?? DEFAULT_SURVIVAL) * selected));
  return planDdg({ clipNorm: privacy.clipNorm, noiseMultiplier: privacy.noiseMultiplier, length, maxSenders: Math.max(selected, minSenders), minSenders, ...(privacy.rotation !== false ? { rotationSeed } : {}) });
}

/** The share of a round's selected devices the noise is planned for by default: the secure mode's design point of 30% dropping. */
export const DEFAULT_SURVIVAL = 0.7;
