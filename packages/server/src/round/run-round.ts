// One synchronous round, top to bottom (the shape of Flower's Strategy.start: configure and send,
// receive, aggregate, evaluate; the merge is FedAvg, McMahan et al., arXiv 1602.05629, or FedNova
// for time-budgeted work, behind the aggregator seam in packages/core/src/aggregate).
//   select -> plan -> open -> send -> close -> quorum -> apply -> commit
// Updates arrive meanwhile through OpenRound.admit (open-round.ts); a refusal changes nothing.
import type { RoundSummary } from '@fedbit/core';
import type { Device } from '../devices/registry';
import { missedRecord, roundSummary } from './accounting';
import { commitVersion } from './commit';
import type { RoundContext } from './context';
import { sendTask } from './dispatch';
import { mergeProblem, roundAggregator, roundClipNorm } from './merge-guard';
import { OpenRound, refusal, type ClosedBy, type ExpandUpdate } from './open-round';
import { planTasks, roundLearningRate, type PlanTiming, type PlannedTask } from './plan';
import { selectDevices } from './selection';

export async function runRound(ctx: RoundContext, round: number, eligible: Device[], setOpen: (open: OpenRound | null) => void): Promise<RoundSummary | null> {
  const { config, run } = ctx;
  const startedAt = Date.now();

  // ---- select ----
  const picked = selectDevices(eligible, config.devicesPerRound, config.seed, round);

  // ---- plan: local work and precision per device ----
  const plan: PlanTiming = { planS: 0, solveS: 0 };
  const tasks = planTasks(ctx, picked, round, config.deadlineS * 1000, picked.length, plan);
  for (const task of tasks) {
    task.device.lastBits = task.assignment.bits;
    task.device.lastMode = ctx.split ? { mode: task.mode, keepRatio: task.keepRatio } : null;
  }

  // ---- open, with the global model published once, served over HTTP (lossless by default: every device starts from the same weights) ----
  // Split learning: a split task trains the front only, so the version it fetches is the front (the server keeps the back).
  const encoding = { bits: config.downlinkBits, blockSize: config.codec.blockSize };
  const splitTasks = tasks.filter((t) => t.mode === 'split');
  const whole = splitTasks.length < tasks.length ? ctx.models.publish(round - 1, run.global, encoding) : null;
  const front = ctx.split && splitTasks.length > 0 ? ctx.models.publish(round - 1, run.global.subarray(0, ctx.split.plan.deviceSize), encoding) : null;
  const modelOf = (t: PlannedTask) => (t.mode === 'split' ? front : whole)!;
  const aggregator = roundAggregator(ctx);
  // SplitFedV1 (split.server 'per-device', implied by perDevice): a split device's front and its copy of the back become one whole-model update.
  const split = ctx.split;
  const expand: ExpandUpdate | undefined = split?.copies
    ? (slot, frame, r) => {
        const made = split.wholeUpdate(slot.device.id, frame, r, slot.assignment.bits, config.codec.blockSize);
        return typeof made === 'string' ? refusal('unexpected-step', made, { round: r }) : made;
      }
    : undefined;
  const open = new OpenRound({ round, startedAt, model: (whole ?? front)!, aggregator, deadlineS: config.deadlineS, maxUpdateBytes: ctx.maxUpdateBytes, updateName: ctx.host.updateName, expand }, tasks);
  // Split learning: the server's part starts the round from the global model and expects each split device's steps.
  await split?.begin(round, run.global, splitTasks.map((t) => ({ deviceId: t.device.id, steps: t.work.steps, batch: config.batchSize })), roundLearningRate(config, round));
  // A cluster: the other nodes learn the plan before any task goes out, so every device's update finds it.
  await ctx.cluster?.roundOpened(open, roundClipNorm(ctx));
  setOpen(open);
  ctx.metrics.roundStarted(round);
  ctx.log.info({ round, devices: tasks.map((t) => `${t.device.name}:${t.mode === 'split' ? `split(keep ${t.keepRatio.toFixed(2)})/` : ''}${t.assignment.bits}b/${t.work.steps}`) }, 'round opened');

  // ---- send ----
  const envelope = { round, version: round - 1, mode: 'sync' as const, deadlineAt: open.deadlineAt };
  // The model bytes the devices need (a LoRA device's first task: the base too), from the aggregator or any cache between (what leaves the aggregator itself may be less).
  let downlinkBytes = 0;
  for (const slot of open.slots.values()) downlinkBytes += sendTask(ctx, slot, { ...envelope, model: modelOf(slot) });
  ctx.notify();

  // ---- close: every selected device answered, or the deadline ----
  await open.whenClosed;
  setOpen(null);
  for (const slot of open.slots.values()) {
    if (slot.status === 'pending') {
      slot.status = 'gone';
      ctx.transport.cancel(slot.device, round, 'the round closed at its deadline');
    }
    if (slot.device.state === 'training' || slot.device.state === 'uploaded') slot.device.state = 'idle';
  }
  const closedBy: ClosedBy = run.phase === 'stopped' ? 'stopped' : (open.closedBy ?? 'deadline');
  // A cluster: the other nodes' partial sums join this node's (a node that died contributes nothing).
  await ctx.cluster?.gather(open);

  // ---- quorum: fewer updates than that and the round is dropped; the global model is unchanged ----
  const accepted = open.accepted;
  if (accepted.length < config.quorum || run.phase === 'stopped') {
    run.droppedRounds++;
    run.lastRound = outcome(round, 'dropped', accepted.length, open.slots.size, config.quorum, closedBy, config.deadlineS, config.localWork);
    ctx.log.warn({ round, accepted: accepted.length, quorum: config.quorum }, 'round dropped: quorum not reached');
    ctx.metrics.roundDropped();
    ctx.notify();
    return null;
  }

  // ---- apply and commit (a merge that would leave a non-finite weight is dropped instead) ----
  // Split learning (SplitFedV2): the devices' updates average their fronts; the back is what the shared server part trained this round.
  // SplitFedV1 (copies of the back): every update is already whole (expand above); the copies of the back are dropped.
  const finished = open.aggregator.finish();
  const serverPart = split ? await split.close() : null;
  const mean = split && !split.copies ? withServerPart(finished, run.global, serverPart!) : finished;
  const problem = mergeProblem(run.global, mean);
  if (problem) {
    run.droppedRounds++;
    run.lastRound = { ...outcome(round, 'dropped', accepted.length, open.slots.size, config.quorum, closedBy, config.deadlineS, config.localWork), message: `round ${round}: ${problem}; the model is unchanged and the round runs again` };
    ctx.log.error({ round, problem }, 'round dropped: merged update not finite');
    ctx.metrics.roundDropped();
    ctx.notify();
    return null;
  }
  const records = [...open.slots.values()].map((slot) => slot.record ?? missedRecord(ctx, slot));
  const gradientBytes = ctx.split?.traffic.gradientBytes ?? 0;
  const summary = roundSummary(ctx, { round, startedAt, records, accepted: accepted.length, downlinkBytes: downlinkBytes + gradientBytes, closedBy, plan });
  run.lastRound = outcome(round, 'committed', accepted.length, open.slots.size, config.quorum, closedBy, config.deadlineS, config.localWork);
  await commitVersion(ctx, summary, mean, picked.length / eligible.length);
  return summary;
}

/** The whole model's merged update: the devices' mean front change, then the server part's change over the round. */
export function withServerPart(frontMean: Float32Array, global: Float32Array, serverPart: Float32Array): Float32Array {
  const deviceSize = frontMean.length;
  if (serverPart.length !== global.length - deviceSize) throw new Error(`server part of ${serverPart.length} weights for a model of ${global.length} cut at ${deviceSize}`);
  const mean = new Float32Array(global.length);
  mean.set(frontMean);
  for (let i = deviceSize; i < global.length; i++) mean[i] = serverPart[i - deviceSize] - global[i];
  return mean;
}

/** How a round ended, in words a person in the room can act on. */
export function outcome(
  round: number,
  result: 'committed' | 'dropped',
  accepted: number,
  selected: number,
  quorum: number,
  closedBy: ClosedBy,
  deadlineS: number,
  localWork: 'fixed' | 'budget',
) {
  const how = closedBy === 'deadline' ? `at its ${deadlineS} s deadline` : closedBy === 'stopped' ? 'when the run stopped' : 'when every device had answered';
  let message = `round ${round} closed with ${accepted} of ${selected} updates ${how}`;
  if (result === 'dropped') {
    message += `, short of the quorum of ${quorum}: the model is unchanged and the round runs again`;
    if (closedBy === 'deadline') message += localWork === 'budget' ? '; slow devices get fewer steps next time' : '; fewer local steps, a later deadline or time-budgeted work (localWork: budget) would help';
  } else if (accepted < selected && closedBy === 'deadline') {
    message += localWork === 'budget' ? '; the next round gives slow devices fewer steps' : '; the updates that missed it were left out';
  }
  return { round, outcome: result, accepted, selected, quorum, closedBy, message, at: Date.now() };
}
