// Buffered asynchronous aggregation (FedBuff: Nguyen et al., "Federated Learning with Buffered
// Asynchronous Aggregation", AISTATS 2022, arXiv 2106.06639). No device waits for another: every
// free device gets a task from the newest model version at once, with its precision chosen from its
// demand at that moment; accepted updates merge into a buffer, discounted by 1/sqrt(1 + staleness)
// (packages/core/src/aggregate/staleness.ts), and every `async.buffer` of them become the next
// version. An update trained too many versions ago is refused with 'too-stale'; a task not answered
// by its deadline is dropped and the device gets a new one.
import { type Ack, type Aggregator, type DeviceRoundRecord, type UpdateMeta } from '@fedbit/core';
import type { Device } from '../devices/registry';
import { acceptUpdate, missedRecord, roundSummary } from './accounting';
import { commitVersion } from './commit';
import type { RoundContext } from './context';
import { sendTask } from './dispatch';
import { roundAggregator } from './merge-guard';
import { mergeUpdate, refusal, type Slot } from './open-round';
import { planTasks } from './plan';

interface AsyncTask extends Slot {
  no: number;
  version: number;
  deadlineAt: number;
}

export class AsyncEngine {
  private readonly tasks = new Map<string, AsyncTask>();
  private aggregator: Aggregator;
  private records: DeviceRoundRecord[] = [];
  private staleness: number[] = [];
  private bufferStartedAt = Date.now();
  private downlinkBytes = 0;
  private nextTaskNo = 1;
  /** Buffers closed so far: the committed versions plus any commit still being written. */
  private closedBuffers: number;
  private commits: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: RoundContext) {
    this.closedBuffers = ctx.run.completed;
    this.aggregator = this.freshAggregator();
  }

  get training(): number {
    return this.tasks.size;
  }

  /** The devices holding a task now. */
  holders(): Set<string> {
    return new Set(this.tasks.keys());
  }

  assignedBits(deviceId: string): number | null {
    return this.tasks.get(deviceId)?.assignment.bits ?? null;
  }

  /** Gives free eligible devices a task each, up to the run's concurrency. */
  dispatch(eligible: Device[]): void {
    const { config, run } = this.ctx;
    const limit = config.async.concurrency ?? config.devicesPerRound;
    const free = eligible.filter((d) => !this.tasks.has(d.id)).slice(0, Math.max(0, limit - this.tasks.size));
    if (free.length === 0 || this.closedBuffers >= config.rounds) return;
    const version = run.completed;
    const model = this.ctx.models.publish(version, run.global, { bits: config.downlinkBits, blockSize: config.codec.blockSize });
    const deadlineAt = Date.now() + config.deadlineS * 1000;
    // Each task is planned on its own: its precision follows this device's demand right now.
    for (const device of free) {
      const [planned] = planTasks(this.ctx, [device], version + 1, config.deadlineS * 1000, config.async.buffer);
      const task: AsyncTask = { ...planned, status: 'pending', record: null, no: this.nextTaskNo++, version, deadlineAt };
      device.lastBits = planned.assignment.bits;
      this.tasks.set(device.id, task);
      this.downlinkBytes += sendTask(this.ctx, task, { round: task.no, version, mode: 'async', deadlineAt, model });
    }
    this.ctx.notify();
  }

  /** Checks an update against the device's task and merges it into the buffer; a refusal changes nothing. */
  admit(device: Device, meta: UpdateMeta, frame: Uint8Array): Ack {
    const task = this.tasks.get(device.id);
    const at = { round: meta.round };
    if (!task) return refusal('not-selected', 'this device holds no task now; a new one follows when it is free', at);
    if (task.no !== meta.round) return refusal('stale-round', `task ${meta.round} is not this device's task; its task is ${task.no}`, at);
    if (this.closedBuffers >= this.ctx.config.rounds) {
      this.drop(device, task, 'the run has all its versions');
      return refusal('late', `the run already has its ${this.ctx.config.rounds} model versions; this update is not needed`, at);
    }
    const staleness = this.closedBuffers - task.version;
    const { maxStaleness } = this.ctx.config.async;
    if (staleness > maxStaleness) {
      this.drop(device, task, `trained from version ${task.version}, now ${this.closedBuffers}`);
      return refusal('too-stale', `this update was trained from model version ${task.version}, ${staleness} versions ago; at most ${maxStaleness} are merged. A new task follows`, at);
    }
    const refused = mergeUpdate(this.aggregator, task, meta, frame, this.ctx.maxUpdateBytes, staleness, this.ctx.host.updateName);
    if (refused) return refused;
    task.status = 'accepted';
    this.tasks.delete(device.id);
    this.records.push(acceptUpdate(this.ctx, task, meta, frame.byteLength));
    this.staleness.push(staleness);
    this.ctx.run.stalenessCounts[staleness] = (this.ctx.run.stalenessCounts[staleness] ?? 0) + 1;
    device.state = 'idle';
    if (this.aggregator.count >= this.ctx.config.async.buffer) this.closeBuffer();
    this.ctx.notify();
    return { ok: true };
  }

  /** Tasks past their deadline are dropped; the devices are free for a new one. */
  expire(now = Date.now()): void {
    for (const [id, task] of this.tasks) if (task.deadlineAt <= now) this.drop(task.device, task, 'the task passed its deadline', id);
  }

  /** A device left or lost its connection. */
  gone(deviceId: string): void {
    const task = this.tasks.get(deviceId);
    if (task) {
      this.records.push(missedRecord(this.ctx, task));
      this.tasks.delete(deviceId);
    }
  }

  /** Waits for commits still being written (stop, tests). */
  settled(): Promise<void> {
    return this.commits;
  }

  private drop(device: Device, task: AsyncTask, reason: string, id = device.id): void {
    this.ctx.transport.cancel(device, task.no, reason);
    this.records.push(missedRecord(this.ctx, task));
    this.tasks.delete(id);
    if (device.state === 'training') device.state = 'idle';
  }

  private freshAggregator(): Aggregator {
    return roundAggregator(this.ctx);
  }

  /** K updates are in: they become the next version (committed in order, while new updates fill the next buffer). */
  private closeBuffer(): void {
    const aggregator = this.aggregator;
    const mean = aggregator.finish();
    const summary = roundSummary(this.ctx, {
      round: ++this.closedBuffers,
      startedAt: this.bufferStartedAt,
      records: this.records,
      accepted: aggregator.count,
      downlinkBytes: this.downlinkBytes,
      closedBy: 'buffer-full',
      staleness: this.staleness,
    });
    this.aggregator = this.freshAggregator();
    this.records = [];
    this.staleness = [];
    this.downlinkBytes = 0;
    this.bufferStartedAt = Date.now();
    // A commit that fails (a merge that would leave a non-finite weight, a checkpoint that could not
    // be written) loses this buffer only: the version
    // number goes to the next buffer that commits, and the run goes on.
    this.commits = this.commits.then(async () => {
      try {
        summary.round = this.ctx.run.completed + 1;
        await commitVersion(this.ctx, summary, mean);
      } catch (error) {
        this.closedBuffers--;
        this.ctx.run.droppedRounds++;
        this.ctx.metrics.roundDropped();
        this.ctx.log.error({ err: (error as Error).message }, 'commit failed: this buffer is lost, the run goes on');
        this.ctx.notify();
      }
    });
  }
}
