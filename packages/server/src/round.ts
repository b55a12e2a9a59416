// The round loop of the aggregator. One round, top to bottom (runRound):
//   select devices -> assign each its precision (the policy) -> send the global model ->
//   receive encoded updates, decoding each straight into the running sum -> close when every
//   selected device has answered or at the deadline -> quorum check -> new global model ->
//   energy and bytes accounted -> checkpoint (the commit point) -> model export -> broadcast.
// Updates are checked in receiveUpdate; a refused update changes nothing.
import {
  FrameError,
  StreamingAggregator,
  createPolicy,
  deviceRoundCost,
  encodeUpdate,
  frameBytes,
  readFrameHeader,
  varianceBound,
  type Ack,
  type Assignment,
  type Bits,
  type DeviceDemand,
  type DeviceRoundRecord,
  type EnergyConstants,
  type PrecisionPolicy,
  type Refusal,
  type RefusalCode,
  type RoundSummary,
  type RunPhase,
  type Task,
  type UpdateMeta,
} from '@fedbit/core';
import type { Logger } from 'pino';
import type { RunConfig, ConfigPatch } from './config';
import { DeviceRegistry, type Device } from './devices';
import type { ModelHost } from './model-host';
import type { CheckpointState, RunStore } from './store';
import type { ServerMetrics } from './metrics';

/** How the round loop reaches devices; the Socket.IO layer implements it. */
export interface Transport {
  /** Sends a task with the global model; resolves with the milliseconds until the device acknowledged it, or null. */
  sendTask(device: Device, task: Task, model: Uint8Array): Promise<number | null>;
  cancel(device: Device, round: number, reason: string): void;
  broadcastSummary(summary: RoundSummary): void;
  statusChanged(): void;
}

type SlotStatus = 'pending' | 'accepted' | 'gone';

interface Slot {
  device: Device;
  assignment: Assignment;
  trainBits: number;
  weight: number;
  status: SlotStatus;
  record: DeviceRoundRecord | null;
}

/** The round being trained right now: who was asked, at what precision, what has arrived. */
class OpenRound {
  readonly slots = new Map<string, Slot>();
  readonly aggregator: StreamingAggregator;
  readonly deadlineAt: number;
  closed = false;
  private resolveClosed!: () => void;
  readonly whenClosed = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    readonly round: number,
    readonly startedAt: number,
    /** The global model this round trains from, encoded once for every device (and any that rejoin). */
    readonly modelFrame: Uint8Array,
    paramCount: number,
    deadlineS: number,
    clipNorm: number | null,
  ) {
    this.aggregator = new StreamingAggregator(paramCount, clipNorm ? { clipNorm } : undefined);
    this.deadlineAt = startedAt + deadlineS * 1000;
    this.timer = setTimeout(() => this.close(), deadlineS * 1000);
  }

  get accepted(): Slot[] {
    return [...this.slots.values()].filter((s) => s.status === 'accepted');
  }

  /** Closes early once no selected device is still expected to answer. */
  closeIfAllAnswered(): void {
    if ([...this.slots.values()].every((s) => s.status !== 'pending')) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.resolveClosed();
  }
}

export interface CoordinatorOptions {
  config: RunConfig;
  store: RunStore;
  host: ModelHost;
  log: Logger;
  metrics: ServerMetrics;
  resumeFrom?: { state: CheckpointState; weights: Float32Array } | null;
}

export function refusal(code: RefusalCode, reason: string, extra: Partial<Refusal> = {}): Refusal {
  return { ok: false, code, reason, ...extra };
}

function frameErrorCode(error: FrameError): RefusalCode {
  switch (error.field) {
    case 'checksum':
      return 'bad-checksum';
    case 'length':
      return 'wrong-length';
    case 'scale':
    case 'value':
      return 'bad-value';
    default:
      return 'malformed-frame';
  }
}

/** Seeded choice of up to k devices, stable for a given run seed and round. */
export function selectDevices(eligible: Device[], k: number, seed: number, round: number): Device[] {
  const keyed = eligible.map((device) => ({ device, key: hash32(`${seed}:${round}:${device.id}`) }));
  keyed.sort((a, b) => a.key - b.key || a.device.id.localeCompare(b.device.id));
  return keyed.slice(0, k).map((e) => e.device);
}

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Coordinator {
  readonly devices = new DeviceRegistry();
  config: RunConfig;
  phase: RunPhase = 'waiting';
  completed = 0;
  global: Float32Array;
  lossHistory: number[] = [];
  totals = { energyJ: 0, computeJ: 0, transmitJ: 0, uplinkBytes: 0, downlinkBytes: 0 };
  summaries: RoundSummary[] = [];
  nextShard = 0;
  transport: Transport | null = null;
  readonly runId: string;
  readonly maxUpdateBytes: number;

  private open: OpenRound | null = null;
  private policy: PrecisionPolicy;
  private readonly energy: EnergyConstants;
  private wake: (() => void) | null = null;
  private loopRunning: Promise<void> | null = null;
  private readonly store: RunStore;
  private readonly host: ModelHost;
  private readonly log: Logger;
  private readonly metrics: ServerMetrics;

  constructor(options: CoordinatorOptions) {
    this.config = options.config;
    this.store = options.store;
    this.host = options.host;
    this.log = options.log;
    this.metrics = options.metrics;
    this.runId = options.config.runId ?? 'run';
    this.policy = createPolicy(this.config.policy);
    this.energy = this.config.energy;
    // The largest frame a device may send: a 32-bit frame of the whole model.
    this.maxUpdateBytes = frameBytes(32, this.host.paramCount, this.config.codec.blockSize);
    const resume = options.resumeFrom;
    if (resume) {
      if (resume.state.layoutFingerprint !== this.host.fingerprint) {
        throw new Error(`checkpoint was written for model layout ${resume.state.layoutFingerprint}, this model is ${this.host.fingerprint}`);
      }
      this.global = resume.weights;
      this.completed = resume.state.round;
      this.lossHistory = resume.state.lossHistory;
      this.totals = resume.state.totals;
      this.nextShard = resume.state.nextShard;
      for (const [id, saved] of Object.entries(resume.state.devices)) this.devices.restore(id, saved);
      this.summaries = this.store.readSummaries();
    } else {
      this.global = this.host.initialWeights();
    }
    if (this.completed >= this.config.rounds) this.phase = 'done';
  }

  get currentRound(): { round: number; deadlineAt: number; selected: number; received: number } | null {
    const open = this.open;
    if (!open) return null;
    return { round: open.round, deadlineAt: open.deadlineAt, selected: open.slots.size, received: open.accepted.length };
  }

  /** The precision a device was assigned in the open round, if it was selected. */
  assignedBits(deviceId: string): number | null {
    return this.open?.slots.get(deviceId)?.assignment.bits ?? null;
  }

  // ---- control ----

  start(): void {
    if (this.phase === 'done' || this.phase === 'stopped') return;
    this.phase = 'training';
    this.log.info({ round: this.completed }, 'run started');
    this.ensureLoop();
    this.notify();
  }

  pause(): void {
    if (this.phase !== 'training' && this.phase !== 'waiting') return;
    this.phase = 'paused';
    this.log.info('run paused: the open round finishes, no new round starts');
    this.notify();
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    this.open?.close();
    this.notify();
    await this.loopRunning;
  }

  applyPatch(patch: ConfigPatch): void {
    const next = { ...this.config, ...patch };
    if (next.quorum > next.devicesPerRound) throw new Error(`quorum (${next.quorum}) must be at most devicesPerRound (${next.devicesPerRound})`);
    if (patch.policy) this.policy = createPolicy(patch.policy);
    this.config = next;
    if (this.phase === 'done' && this.completed < next.rounds) this.phase = 'paused';
    this.log.info({ patch }, 'run config changed');
    this.notify();
  }

  /** Wakes the loop: a device joined or left, or the admin acted. */
  notify(): void {
    this.wake?.();
    this.transport?.statusChanged();
  }

  ensureLoop(): void {
    this.loopRunning ??= this.loop().finally(() => (this.loopRunning = null));
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private eligibleDevices(): Device[] {
    return this.devices
      .connected()
      .filter((d) => this.config.allowLowBattery || !DeviceRegistry.isLowBattery(d, this.config.lowBatteryThreshold));
  }

  private async loop(): Promise<void> {
    while (this.phase !== 'stopped' && this.phase !== 'done') {
      if (this.completed >= this.config.rounds) {
        this.phase = 'done';
        this.log.info({ rounds: this.completed }, 'run finished');
        this.notify();
        return;
      }
      const eligible = this.eligibleDevices();
      const needed = Math.max(this.config.quorum, this.completed === 0 ? this.config.minDevices : 1);
      if (this.phase !== 'training' || eligible.length < needed) {
        if (this.phase === 'waiting' && this.config.autoStart && eligible.length >= needed) {
          this.phase = 'training';
          continue;
        }
        await this.waitForChange(1000);
        continue;
      }
      const summary = await this.runRound(this.completed + 1, eligible);
      if (!summary && this.phase === 'training') await this.waitForChange(500);
    }
  }

  // ---- one round ----

  async runRound(round: number, eligible: Device[]): Promise<RoundSummary | null> {
    const config = this.config;
    const startedAt = Date.now();

    // 1. Select devices.
    const picked = selectDevices(eligible, config.devicesPerRound, config.seed, round);

    // 2. Assign each its precision. FedAvg weights are the shard sizes the server itself computed.
    const sizes = picked.map((d) => this.host.shardSizes[d.shard] ?? 1);
    const totalSize = sizes.reduce((a, b) => a + b, 0);
    const prior = this.normSqPrior();
    const demands = picked.map((d, i) => this.demandOf(d, sizes[i] / totalSize, prior));
    const plan = this.policy.assign(demands, {
      round,
      totalRounds: config.rounds,
      allowedBits: config.allowedBits as Bits[],
      deadlineS: config.deadlineS,
      lossHistory: this.lossHistory,
      lowBatteryThreshold: config.lowBatteryThreshold,
    });

    // 3. Open the round, with the global model encoded once (lossless by default: every device must
    //    start from the same weights).
    const modelFrame = encodeUpdate(this.global, { bits: config.downlinkBits, round, blockSize: config.codec.blockSize, seed: round });
    const open = new OpenRound(round, startedAt, modelFrame, this.host.paramCount, config.deadlineS, config.clipNorm);
    picked.forEach((device, i) => {
      const assignment = plan.get(device.id);
      if (!assignment) throw new Error(`policy ${this.policy.name} gave no precision to device ${device.id}`);
      const trainBits = config.qat.enabled ? Math.max(assignment.bits, config.qat.minTrainBits) : 32;
      open.slots.set(device.id, { device, assignment, trainBits, weight: sizes[i], status: 'pending', record: null });
      device.lastBits = assignment.bits;
    });
    this.open = open;
    this.metrics.roundStarted(round);
    this.log.info({ round, devices: picked.map((d) => `${d.name}:${plan.get(d.id)?.bits}`) }, 'round opened');

    // 4. Send the global model.
    let downlinkBytes = 0;
    for (const slot of open.slots.values()) {
      downlinkBytes += modelFrame.byteLength;
      void this.sendTask(open, slot, modelFrame);
    }
    this.notify();

    // 5. Wait for every selected device, or the deadline.
    await open.whenClosed;
    this.open = null;
    for (const slot of open.slots.values()) {
      if (slot.status === 'pending') {
        slot.status = 'gone';
        this.transport?.cancel(slot.device, round, 'the round closed at its deadline');
      }
      if (slot.device.state === 'training' || slot.device.state === 'uploaded') slot.device.state = 'idle';
    }

    // 6. Quorum: fewer updates than that and the round is dropped; the global model is unchanged.
    const accepted = open.accepted;
    if (accepted.length < config.quorum || this.phase === 'stopped') {
      this.log.warn({ round, accepted: accepted.length, quorum: config.quorum }, 'round dropped: quorum not reached');
      this.metrics.roundDropped();
      this.notify();
      return null;
    }

    // 7. The new global model: global + weighted mean of the updates.
    const mean = open.aggregator.finish();
    const global = this.global;
    for (let i = 0; i < global.length; i++) global[i] += mean[i];

    // 8. Account, evaluate, checkpoint, export, broadcast.
    const records = [...open.slots.values()].map((slot) => slot.record ?? this.missedRecord(slot));
    const sum = (pick: (r: DeviceRoundRecord) => number) => records.reduce((acc, r) => acc + pick(r), 0);
    const losses = accepted.map((s) => s.record?.loss).filter((l): l is number => typeof l === 'number');
    const loss = losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null;
    const summary: RoundSummary = {
      round,
      policy: this.policy.name,
      startedAt: new Date(startedAt).toISOString(),
      wallS: (Date.now() - startedAt) / 1000,
      participants: open.slots.size,
      accepted: accepted.length,
      loss,
      computeJ: sum((r) => r.computeJ),
      transmitJ: sum((r) => r.transmitJ),
      energyJ: sum((r) => r.energyJ),
      uplinkBytes: sum((r) => r.frameBytes),
      uplinkBytesFp32: accepted.length * frameBytes(32, this.host.paramCount, config.codec.blockSize),
      downlinkBytes,
      bits: Object.fromEntries(records.map((r) => [r.deviceId, r.bits])),
      devices: records,
    };
    if (loss !== null) this.lossHistory.push(loss);
    if ((round === config.rounds && config.eval.final) || (config.eval.every > 0 && round % config.eval.every === 0)) {
      const quality = await this.host.evaluate(this.global).catch((error: unknown) => {
        this.log.error({ err: (error as Error).message }, 'evaluation failed');
        return null;
      });
      if (quality) {
        summary.fidMnist = quality.fidMnist;
        summary.classEntropyBits = quality.classEntropyBits;
      }
    }
    this.totals.energyJ += summary.energyJ;
    this.totals.computeJ += summary.computeJ;
    this.totals.transmitJ += summary.transmitJ;
    this.totals.uplinkBytes += summary.uplinkBytes;
    this.totals.downlinkBytes += summary.downlinkBytes;
    this.completed = round;
    this.store.commitRound(this.checkpointState(summary), this.global);
    const { modelJson, weightData } = this.host.exportTfjs(this.global);
    this.store.writeModel(modelJson, weightData);
    this.summaries.push(summary);
    this.metrics.roundCompleted(summary);
    this.log.info(
      { round, accepted: summary.accepted, loss, energyJ: summary.energyJ, uplinkBytes: summary.uplinkBytes, wallS: summary.wallS, fidMnist: summary.fidMnist },
      'round committed',
    );
    this.transport?.broadcastSummary(summary);
    this.notify();
    return summary;
  }

  private async sendTask(open: OpenRound, slot: Slot, modelFrame: Uint8Array): Promise<void> {
    const { device, assignment } = slot;
    const task: Task = {
      round: open.round,
      bits: assignment.bits,
      trainBits: slot.trainBits,
      localSteps: this.config.localSteps,
      batchSize: this.config.batchSize,
      learningRate: this.config.learningRate,
      deadlineMs: Math.max(0, open.deadlineAt - Date.now()),
      seed: hash32(`${this.config.seed}:${open.round}:${device.id}`),
      errorFeedback: this.config.codec.errorFeedback,
      blockSize: this.config.codec.blockSize,
    };
    device.state = 'training';
    device.progress = null;
    const ackMs = await this.transport?.sendTask(device, task, modelFrame);
    if (ackMs != null) this.devices.recordDownlink(device, modelFrame.byteLength, ackMs);
  }

  /** A device that reconnects while it is still expected in the open round gets its task again. */
  resendTaskIfPending(device: Device): void {
    const open = this.open;
    const slot = open?.slots.get(device.id);
    if (!open || !slot || open.closed) return;
    if (slot.status === 'gone') slot.status = 'pending';
    if (slot.status !== 'pending') return;
    slot.device = device;
    void this.sendTask(open, slot, open.modelFrame);
  }

  /** A device left or lost its connection: the round does not wait for it. */
  deviceGone(device: Device): void {
    const slot = this.open?.slots.get(device.id);
    if (slot && slot.status === 'pending') {
      slot.status = 'gone';
      this.open?.closeIfAllAnswered();
    }
    this.notify();
  }

  /** Checks an update and adds it to the running sum; a refusal leaves everything as it was. */
  receiveUpdate(device: Device, meta: UpdateMeta, frame: Uint8Array): Ack {
    const open = this.open;
    if (!open) {
      return refusal('stale-round', `round ${meta.round} is not open: no round is open now (${this.completed} completed)`, { round: meta.round });
    }
    if (meta.round !== open.round) {
      return refusal('stale-round', `round ${meta.round} is not open; the open round is ${open.round}`, { round: meta.round });
    }
    if (open.closed) return refusal('late', `round ${open.round} closed before this update arrived`, { round: meta.round });
    const slot = open.slots.get(device.id);
    if (!slot) return refusal('not-selected', `this device was not selected for round ${open.round}`, { round: meta.round });
    if (slot.status === 'accepted') return refusal('duplicate', `an update from this device for round ${open.round} was already accepted`, { round: meta.round });
    if (frame.byteLength > this.maxUpdateBytes) {
      return refusal('oversized', `frame of ${frame.byteLength} bytes; at most ${this.maxUpdateBytes} expected for this model`, { round: meta.round });
    }
    try {
      const header = readFrameHeader(frame);
      if (header.length !== this.host.paramCount) {
        return refusal('wrong-length', `frame holds ${header.length} values; the model has ${this.host.paramCount}`, { field: 'length', round: meta.round });
      }
      if (header.bits !== slot.assignment.bits) {
        return refusal('bad-value', `frame is at ${header.bits} bits; this device was assigned ${slot.assignment.bits}`, { field: 'bits', round: meta.round });
      }
      if (header.round !== meta.round) {
        return refusal('bad-value', `frame says round ${header.round}, the message says ${meta.round}`, { field: 'round', round: meta.round });
      }
      open.aggregator.add(frame, slot.weight);
    } catch (error) {
      if (error instanceof FrameError) return refusal(frameErrorCode(error), error.message, { field: error.field, round: meta.round });
      throw error;
    }

    slot.status = 'accepted';
    device.state = 'uploaded';
    device.lastReceivedBytes = frame.byteLength;
    device.updateNormSq = meta.updateNormSq;
    device.updateMaxAbs = meta.updateMaxAbs ?? null;
    device.lastLoss = meta.loss;
    const uplinkBps = device.uplinkBps.value ?? this.defaultUplinkBps(device);
    const cost = deviceRoundCost(
      {
        macs: this.host.macsPerRound,
        trainBits: slot.trainBits,
        frameBytes: frame.byteLength,
        uplinkBps,
        transmitPowerW: device.telemetry.transmitPowerW ?? this.energy.transmitPowerW,
        macsPerSecond: device.telemetry.macsPerSecond ?? this.energy.macsPerSecond[device.telemetry.deviceClass],
        deviceClass: device.telemetry.deviceClass,
      },
      this.energy,
    );
    device.energyJ += cost.energyJ;
    slot.record = {
      deviceId: device.id,
      name: device.name,
      bits: slot.assignment.bits,
      trainBits: slot.trainBits,
      reason: slot.assignment.reason,
      status: 'accepted',
      samples: meta.samples,
      loss: meta.loss,
      trainMs: meta.trainMs,
      frameBytes: frame.byteLength,
      uplinkBps,
      computeJ: cost.computeJ,
      transmitJ: cost.transmitJ,
      energyJ: cost.energyJ,
      battery: device.telemetry.battery,
      charging: device.telemetry.charging,
    };
    this.metrics.updateAccepted(frame.byteLength, slot.assignment.bits);
    open.closeIfAllAnswered();
    this.notify();
    return { ok: true };
  }

  private missedRecord(slot: Slot): DeviceRoundRecord {
    const { device } = slot;
    return {
      deviceId: device.id,
      name: device.name,
      bits: slot.assignment.bits,
      trainBits: slot.trainBits,
      reason: slot.assignment.reason,
      status: 'missed',
      samples: 0,
      loss: null,
      trainMs: null,
      frameBytes: 0,
      uplinkBps: device.uplinkBps.value ?? 0,
      computeJ: 0,
      transmitJ: 0,
      energyJ: 0,
      battery: device.telemetry.battery,
      charging: device.telemetry.charging,
    };
  }

  private defaultUplinkBps(device: Device): number {
    const hint = device.telemetry.connectionHint?.downlinkMbps;
    return hint ? hint * 1e6 : this.energy.defaultUplinkBps;
  }

  /** What the policy needs to know of a device: its demand and, per precision, energy, latency, bytes and V_k(n). */
  /** Before a device's first update, the median of the others' ||update||^2 (or 1) stands in for its own. */
  private normSqPrior(): number {
    const known = this.devices.all().map((d) => d.updateNormSq).filter((v): v is number => v !== null);
    return known.length ? known.sort((a, b) => a - b)[Math.floor(known.length / 2)] : 1;
  }

  private demandOf(device: Device, weight: number, normSqPrior: number): DeviceDemand {
    const n = this.host.paramCount;
    const blockSize = this.config.codec.blockSize;
    const updateNormSq = device.updateNormSq ?? normSqPrior;
    // max|u| tightens the bound from blockSize*||u||^2 to length*max|u|^2; unknown until a first update.
    const maxAbs = device.updateNormSq !== null ? (device.updateMaxAbs ?? undefined) : undefined;
    const uplinkBps = device.uplinkBps.value ?? this.defaultUplinkBps(device);
    const options: DeviceDemand['options'] = {};
    for (const bits of this.config.allowedBits as Bits[]) {
      const bytes = frameBytes(bits, n, blockSize);
      const trainBits = this.config.qat.enabled ? Math.max(bits, this.config.qat.minTrainBits) : 32;
      const cost = deviceRoundCost(
        {
          macs: this.host.macsPerRound,
          trainBits,
          frameBytes: bytes,
          uplinkBps,
          transmitPowerW: device.telemetry.transmitPowerW ?? this.energy.transmitPowerW,
          macsPerSecond: device.telemetry.macsPerSecond ?? this.energy.macsPerSecond[device.telemetry.deviceClass],
          deviceClass: device.telemetry.deviceClass,
        },
        this.energy,
      );
      options[bits] = {
        energyJ: cost.energyJ,
        latencyS: cost.latencyS,
        frameBytes: bytes,
        variance: varianceBound(bits, { length: n, normSq: updateNormSq, maxAbs, blockSize }),
      };
    }
    return {
      id: device.id,
      weight,
      battery: device.telemetry.battery,
      charging: device.telemetry.charging,
      preference: device.telemetry.preference,
      updateNormSq,
      options,
    };
  }

  private checkpointState(summary: RoundSummary): CheckpointState {
    return {
      runId: this.runId,
      round: this.completed,
      layoutFingerprint: this.host.fingerprint,
      lossHistory: this.lossHistory,
      totals: this.totals,
      devices: Object.fromEntries(
        this.devices.all().map((d) => [d.id, { name: d.name, energyJ: d.energyJ, updateNormSq: d.updateNormSq, updateMaxAbs: d.updateMaxAbs, shard: d.shard, uplinkBps: d.uplinkBps.value }]),
      ),
      nextShard: this.nextShard,
      lastSummary: summary,
      savedAt: new Date().toISOString(),
    };
  }
}
