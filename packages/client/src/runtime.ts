// The device runtime, the same in a browser tab (inside a Web Worker) and in a Node process.
// One round on the device, top to bottom (trainRound):
//   receive the task and the global model -> decode it (never train on an older one) ->
//   E local steps of quantization-aware training on this device's own shard ->
//   update = local - global, plus the error-feedback residual -> encode at the assigned precision ->
//   upload as a binary attachment and time it (that timing is the measured uplink rate).
// Progress comes out as an async stream of events that a page or a CLI renders.
import { io, type Socket } from 'socket.io-client';
import {
  DEFAULT_ENERGY_CONSTANTS,
  DeviceEvent,
  ErrorFeedback,
  PROTOCOL_VERSION,
  ServerEvent,
  decodeUpdate,
  deviceRoundCost,
  encodeUpdate,
  frameBytes,
  type Ack,
  type EnergyConstants,
  type Hello,
  type Refusal,
  type RoundSummary,
  type Task,
  type Welcome,
} from '@fedbit/core';
import {
  createModel,
  createTrainer,
  initBackend,
  layoutFingerprint,
  macsPerTrainStep,
  type BackendInfo,
  type DiffusionModel,
  type ModelConfig,
  type Trainer,
} from '@fedbit/diffusion';
import { holdout, labelsOf, partition, toFloatImages, type ImageDataset } from '@fedbit/datasets';
import { Channel } from './channel';
import type { TelemetrySource } from './telemetry';

export interface DataProvider {
  load(name: 'mnist' | 'emoji', size: number): Promise<ImageDataset>;
}

export type RuntimeEvent =
  | { type: 'status'; state: 'connecting' | 'joined' | 'idle' | 'training' | 'uploading' | 'disconnected' | 'left'; message?: string }
  | { type: 'joined'; deviceId: string; welcome: Welcome; backend: BackendInfo; shardSize: number }
  | { type: 'bandwidth'; uplinkBps: number }
  | { type: 'task'; round: number; bits: number; trainBits: number; localSteps: number }
  | { type: 'step'; round: number; step: number; steps: number; loss: number }
  | {
      type: 'uploaded';
      round: number;
      bits: number;
      bytes: number;
      fp32Bytes: number;
      ms: number;
      accepted: boolean;
      reason?: string;
      computeJ: number;
      transmitJ: number;
      energyJ: number;
      trainMs: number;
    }
  | { type: 'summary'; summary: RoundSummary }
  | { type: 'error'; message: string; code?: string };

export interface DeviceRuntimeOptions {
  url: string;
  joinCode: string;
  name: string;
  platform: Hello['platform'];
  telemetry: TelemetrySource;
  data: DataProvider;
  backend?: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
  wasmPath?: string;
  userAgent?: string;
  /** An id the aggregator gave earlier (kept in localStorage by the web app), to rejoin as the same device. */
  deviceId?: string;
  /** Node simulation only: pace binary uploads at this rate, so the aggregator measures the simulated link. */
  shapeUplinkBps?: number;
  energy?: EnergyConstants;
  /** Reconnection backoff, milliseconds. */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  /** Refuse to train when true (tests): the device joins and uploads nothing. */
  telemetryIntervalMs?: number;
}

interface PendingTask {
  task: Task;
  model: Uint8Array;
  receivedAt: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  throw new Error('expected a binary model frame');
}

export class DeviceRuntime {
  readonly events = new Channel<RuntimeEvent>();
  deviceId: string | undefined;
  backend: BackendInfo | null = null;
  uplinkBps: number | null = null;
  totals = { energyJ: 0, computeJ: 0, transmitJ: 0, uplinkBytes: 0, uplinkBytesFp32: 0, rounds: 0 };

  private socket: Socket | null = null;
  private welcome: Welcome | null = null;
  private model: DiffusionModel | null = null;
  private trainer: Trainer | null = null;
  private errorFeedback: ErrorFeedback | null = null;
  private dataset: ImageDataset | null = null;
  private shard: Int32Array | null = null;
  private pending: PendingTask | null = null;
  private current: Task | null = null;
  private abortRound: number | null = null;
  private lastUpload: { bytes: number; ms: number } | undefined;
  private wake: (() => void) | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private telemetryTimer: ReturnType<typeof setInterval> | null = null;
  private readonly energy: EnergyConstants;
  /** The run whose model and shard are ready; a task that arrives before then waits for them. */
  private preparedRun: string | null = null;
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(private readonly options: DeviceRuntimeOptions) {
    this.deviceId = options.deviceId;
    this.energy = options.energy ?? DEFAULT_ENERGY_CONSTANTS;
  }

  /** Connects, joins and keeps training the rounds it is given until leave() or stop(). */
  async start(): Promise<void> {
    this.backend = await initBackend(this.options.backend, this.options.wasmPath ? { wasmPath: this.options.wasmPath } : undefined);
    this.events.push({ type: 'status', state: 'connecting' });
    const socket = io(this.options.url, {
      auth: { joinCode: this.options.joinCode },
      transports: ['websocket'],
      reconnectionDelay: this.options.reconnectDelayMs ?? 500,
      reconnectionDelayMax: this.options.reconnectDelayMaxMs ?? 5000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    socket.on('connect', () => void this.join().catch((error: Error) => this.fail(error.message)));
    socket.on('disconnect', (reason) => {
      if (!this.stopped) this.events.push({ type: 'status', state: 'disconnected', message: String(reason) });
    });
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code === 'bad-join-code') {
        this.fail(error.message, 'bad-join-code');
        this.stop();
      } else {
        this.events.push({ type: 'status', state: 'disconnected', message: `cannot reach the aggregator (${error.message}); retrying` });
      }
    });
    socket.on(ServerEvent.task, (task: Task, model: unknown, ack?: (reply: unknown) => void) => {
      ack?.({ ok: true });
      // The newest task wins: a task for a later round makes any older one stale.
      if (this.current && this.current.round !== task.round) this.abortRound = this.current.round;
      this.pending = { task, model: toBytes(model), receivedAt: Date.now() };
      this.wake?.();
    });
    socket.on(ServerEvent.cancel, (message: { round: number; reason: string }) => {
      if (this.current?.round === message.round) this.abortRound = message.round;
      if (this.pending?.task.round === message.round) this.pending = null;
    });
    socket.on(ServerEvent.summary, (summary: RoundSummary) => {
      if (this.current && this.current.round <= summary.round) this.abortRound = this.current.round;
      if (this.pending && this.pending.task.round <= summary.round) this.pending = null;
      this.events.push({ type: 'summary', summary });
    });
    socket.on(ServerEvent.refused, (reply: Refusal) => this.events.push({ type: 'error', message: reply.reason, code: reply.code }));
    this.telemetryTimer = setInterval(() => void this.sendTelemetry(), this.options.telemetryIntervalMs ?? 10_000);
    this.loop ??= this.runLoop();
  }

  /** Tells the aggregator at once that this device leaves, then disconnects. */
  async leave(): Promise<void> {
    const socket = this.socket;
    if (socket?.connected) {
      await socket
        .timeout(2000)
        .emitWithAck(DeviceEvent.leave, { reason: 'the person left' })
        .catch(() => undefined);
    }
    this.events.push({ type: 'status', state: 'left' });
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.current) this.abortRound = this.current.round;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.socket?.disconnect();
    this.wake?.();
    void this.loop?.finally(() => {
      this.trainer?.dispose();
      this.model?.dispose();
      this.trainer = null;
      this.model = null;
      this.events.close();
    });
  }

  /** Settles once the runtime has stopped and released its tensors. */
  async done(): Promise<void> {
    await this.loop;
  }

  private fail(message: string, code?: string): void {
    this.events.push({ type: 'error', message, code });
  }

  private async join(): Promise<void> {
    const socket = this.socket!;
    const telemetry = await this.options.telemetry.read();
    const hello: Hello = {
      protocol: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      name: this.options.name,
      platform: this.options.platform,
      backend: (this.backend?.backend ?? 'cpu') as Hello['backend'],
      adapter: this.backend?.adapter,
      userAgent: this.options.userAgent?.slice(0, 512),
      telemetry,
    };
    const reply = (await socket.timeout(30_000).emitWithAck(DeviceEvent.hello, hello)) as Ack<Welcome>;
    if (!reply.ok) throw new Error(`the aggregator refused to let this device join: ${reply.reason}`);
    const welcome: Welcome = reply;
    this.deviceId = welcome.deviceId;
    this.welcome = welcome;
    if (this.preparedRun !== welcome.runId) {
      await this.prepare(welcome);
      this.preparedRun = welcome.runId;
      this.markReady();
    }
    this.events.push({ type: 'joined', deviceId: welcome.deviceId, welcome, backend: this.backend!, shardSize: this.shard?.length ?? 0 });
    await this.probeUplink(welcome);
    await this.sendTelemetry();
    this.events.push({ type: 'status', state: 'idle' });
  }

  /** Builds the model the aggregator described and finds this device's own shard of the data. */
  private async prepare(welcome: Welcome): Promise<void> {
    this.trainer?.dispose();
    this.model?.dispose();
    const model = createModel(welcome.model as unknown as ModelConfig, 0);
    if (layoutFingerprint(model.layout) !== welcome.layoutFingerprint) {
      model.dispose();
      throw new Error(`model layout ${layoutFingerprint(model.layout)} differs from the aggregator's ${welcome.layoutFingerprint}: update this device's app`);
    }
    this.model = model;
    this.trainer = null;
    this.errorFeedback = new ErrorFeedback(model.paramCount);
    const { shard } = welcome;
    this.dataset = await this.options.data.load(shard.dataset, shard.imageSize);
    const split = holdout(this.dataset, { seed: 0 });
    const shards = partition(this.dataset, { kind: shard.partition, devices: shard.count, alpha: shard.alpha, seed: shard.seed, indices: split.train });
    const mine = shards[shard.index];
    if (!mine || mine.length === 0) throw new Error(`shard ${shard.index} of ${shard.count} is empty`);
    this.shard = mine;
  }

  /** Times a small binary upload so the aggregator has a measured uplink rate before the first round. */
  private async probeUplink(welcome: Welcome): Promise<void> {
    const bytes = Math.max(1024, Math.min(64 * 1024, Math.floor(welcome.maxUpdateBytes / 4)));
    const payload = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) payload[i] = (i * 131 + 7) & 0xff;
    const started = Date.now();
    await this.shape(bytes);
    const reply = (await this.socket!.timeout(30_000).emitWithAck(DeviceEvent.probe, { bytes }, payload)) as Ack;
    if (reply.ok) this.noteUpload(bytes, Date.now() - started);
  }

  private noteUpload(bytes: number, ms: number): void {
    this.lastUpload = { bytes, ms: Math.max(ms, 0.1) };
    const bps = (bytes * 8) / (this.lastUpload.ms / 1000);
    this.uplinkBps = this.uplinkBps === null ? bps : 0.5 * bps + 0.5 * this.uplinkBps;
    this.events.push({ type: 'bandwidth', uplinkBps: this.uplinkBps });
  }

  private async sendTelemetry(): Promise<void> {
    const socket = this.socket;
    if (!socket?.connected || !this.welcome) return;
    const telemetry = { ...(await this.options.telemetry.read()), lastUpload: this.lastUpload };
    this.lastUpload = undefined;
    socket.emit(DeviceEvent.telemetry, telemetry);
  }

  /** In Node simulation, waits as long as the simulated link would take to send `bytes`. */
  private async shape(bytes: number): Promise<void> {
    if (this.options.shapeUplinkBps) await sleep(((bytes * 8) / this.options.shapeUplinkBps) * 1000);
  }

  private async runLoop(): Promise<void> {
    while (!this.stopped) {
      const next = this.pending;
      if (!next) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      await this.ready;
      if (this.pending !== next) continue; // superseded or cancelled while the device was getting ready
      this.pending = null;
      try {
        await this.trainRound(next);
      } catch (error) {
        this.fail(`round ${next.task.round} failed on this device: ${(error as Error).message}`);
      } finally {
        this.current = null;
        if (!this.stopped) this.events.push({ type: 'status', state: 'idle' });
      }
    }
  }

  private aborted(round: number): boolean {
    return this.stopped || this.abortRound === round || (this.pending !== null && this.pending.task.round !== round);
  }

  /** One round on the device. */
  private async trainRound({ task, model: modelFrame }: PendingTask): Promise<void> {
    const model = this.model;
    const dataset = this.dataset;
    const shard = this.shard;
    if (!model || !dataset || !shard || !this.welcome) throw new Error('not joined yet');
    this.current = task;
    this.abortRound = null;
    this.events.push({ type: 'task', round: task.round, bits: task.bits, trainBits: task.trainBits, localSteps: task.localSteps });
    this.events.push({ type: 'status', state: 'training' });

    // The global model of exactly this round.
    const global = decodeUpdate(modelFrame, { length: model.paramCount, round: task.round });
    model.setWeights(global);
    this.trainer?.dispose();
    this.trainer = createTrainer(model, {
      learningRate: task.learningRate,
      batchSize: task.batchSize,
      schedule: this.welcome.schedule,
      trainBits: task.trainBits,
      seed: task.seed,
    });

    // E local steps on this device's own images; batches drawn with the task's seed.
    const started = Date.now();
    let random = task.seed >>> 0 || 1;
    const nextIndex = () => {
      random ^= random << 13;
      random ^= random >>> 17;
      random ^= random << 5;
      return shard[(random >>> 0) % shard.length];
    };
    const batch = new Int32Array(task.batchSize);
    let loss = 0;
    let lastProgress = 0;
    for (let step = 1; step <= task.localSteps; step++) {
      if (this.aborted(task.round)) return;
      for (let i = 0; i < batch.length; i++) batch[i] = nextIndex();
      loss = await this.trainer.step({ images: toFloatImages(dataset, batch), labels: labelsOf(dataset, batch), count: batch.length });
      this.events.push({ type: 'step', round: task.round, step, steps: task.localSteps, loss });
      if (Date.now() - lastProgress > 500 || step === task.localSteps) {
        lastProgress = Date.now();
        this.socket?.emit(DeviceEvent.progress, { round: task.round, step, steps: task.localSteps, loss });
      }
      await sleep(0); // let socket messages (a newer task, a cancel) through
    }
    const trainMs = Date.now() - started;

    // update = local - global; error feedback adds what earlier rounds' quantization left out.
    const local = await model.readWeights();
    const update = new Float32Array(local.length);
    let updateNormSq = 0;
    let updateMaxAbs = 0;
    for (let i = 0; i < update.length; i++) {
      const d = local[i] - global[i];
      update[i] = d;
      updateNormSq += d * d;
      if (Math.abs(d) > updateMaxAbs) updateMaxAbs = Math.abs(d);
    }
    // Scaled by 1/(1+omega(bits)) so feedback stays bounded even at 1 bit (Beznosikov et al., arXiv 2002.12410).
    const compensated = task.errorFeedback ? this.errorFeedback!.apply(update, { bits: task.bits, blockSize: task.blockSize }) : update;
    const frame = encodeUpdate(compensated, { bits: task.bits, round: task.round, blockSize: task.blockSize, seed: task.seed });
    if (this.aborted(task.round)) return;

    // Upload, timed: bytes over time is this device's measured uplink rate.
    this.events.push({ type: 'status', state: 'uploading' });
    const meta = { round: task.round, samples: shard.length, steps: task.localSteps, trainMs, loss, updateNormSq, updateMaxAbs };
    const sentAt = Date.now();
    await this.shape(frame.byteLength);
    const reply = (await this.socket!.timeout(Math.max(30_000, task.deadlineMs))
      .emitWithAck(DeviceEvent.update, meta, frame)
      .catch((error: Error) => ({ ok: false, code: 'late', reason: `no answer from the aggregator: ${error.message}` }))) as Ack;
    const ms = Date.now() - sentAt;
    if (reply.ok) {
      if (task.errorFeedback) this.errorFeedback!.remember(compensated, frame);
      this.noteUpload(frame.byteLength, ms);
      void this.sendTelemetry();
    }
    // The same modelled energy the aggregator accounts, so the page can show it.
    const self = await this.options.telemetry.read();
    const cost = deviceRoundCost(
      {
        macs: macsPerTrainStep(model.config, task.batchSize) * task.localSteps,
        trainBits: task.trainBits,
        frameBytes: frame.byteLength,
        uplinkBps: this.uplinkBps ?? this.energy.defaultUplinkBps,
        transmitPowerW: self.transmitPowerW ?? this.energy.transmitPowerW,
        macsPerSecond: self.macsPerSecond ?? this.energy.macsPerSecond[self.deviceClass],
        deviceClass: self.deviceClass,
      },
      this.energy,
    );
    const fp32Bytes = frameBytes(32, model.paramCount, task.blockSize);
    if (reply.ok) {
      this.totals.energyJ += cost.energyJ;
      this.totals.computeJ += cost.computeJ;
      this.totals.transmitJ += cost.transmitJ;
      this.totals.uplinkBytes += frame.byteLength;
      this.totals.uplinkBytesFp32 += fp32Bytes;
      this.totals.rounds++;
    }
    this.events.push({
      type: 'uploaded',
      round: task.round,
      bits: task.bits,
      bytes: frame.byteLength,
      fp32Bytes,
      ms,
      accepted: reply.ok,
      reason: reply.ok ? undefined : reply.reason,
      computeJ: cost.computeJ,
      transmitJ: cost.transmitJ,
      energyJ: cost.energyJ,
      trainMs,
    });
  }
}
