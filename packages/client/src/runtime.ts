// The device runtime, the same in a browser tab (inside a Web Worker) and in a Node process. It
// wires the rooms together: the connection (connection.ts: socket, join, checked messages), the
// tasks (tasks.ts: newest task wins), what a run trains with (train-env.ts: model and shard), one
// task's training (train-round.ts: no socket) and its modelled energy (energy.ts), and streams what
// happens as events that a page or a CLI renders.
import {
  ACK_TIMEOUT_MS,
  BACKENDS,
  DEFAULT_ENERGY_CONSTANTS,
  HelloSchema,
  Ewma,
  clipFactor,
  cryptoUniform,
  encodeDdg,
  encodeOnGrid,
  linkRateBps,
  PROTOCOL_VERSION,
  emptyDeviceTotals,
  type Backend,
  type DeviceTotals,
  type EnergyConstants,
  type Hello,
  type Welcome,
} from '@fedbit/core';
import { initBackend, validateModelConfig, type BackendInfo } from '@fedbit/diffusion';
import { chooseBackend } from './backend-trial';
import { Channel } from './channel';
import type { RuntimeEvent } from './events';
import { Connection } from './connection';
import { BACKEND_TRIAL_BATCH_SIZE, BASE_FETCH_TIMEOUT_MS, JOIN_ATTEMPTS, JOIN_RETRY_MS, MIN_TRANSFER_MS, PROGRESS_THROTTLE_MS, TELEMETRY_INTERVAL_MS } from './constants';
import { addUpload, costOfUpload } from './energy';
import { TaskQueue, type PendingTask } from './tasks';
import type { TelemetrySource } from './telemetry';
import { attachBase, buildTrainEnv, disposeTrainEnv, macsPerStep, uploadLength, type DataProvider, type TrainEnv } from './train-env';
import { trainLoraRound } from './train-lora-round';
import { trainRound, type TrainedUpdate } from './train-round';
import { trainSplitRound, type SplitTaskTraffic } from './train-split';
import { ModelFetcher } from './model-fetch';
import { runSecureRound } from './secure-round';
import type { Attack } from './attack';

export type { RuntimeEvent } from './events';

export interface DeviceRuntimeOptions {
  url: string;
  joinCode: string;
  name: string;
  platform: Hello['platform'];
  telemetry: TelemetrySource;
  data: DataProvider;
  /** A fixed backend. Absent: a browser times each backend it has at join and keeps the fastest; Node uses wasm. */
  backend?: Backend;
  wasmPath?: string;
  userAgent?: string;
  /** An id the aggregator gave earlier (kept in localStorage by the web app), to rejoin as the same device. */
  deviceId?: string;
  /** The secret the aggregator gave with that id; without it the device joins as new. */
  resumeToken?: string;
  /** Node simulation only: pace binary uploads at this rate, so the aggregator measures the simulated link. */
  shapeUplinkBps?: number;
  /** Node simulation only: a fixed delay added to every binary upload (a link's round trip). */
  shapeLatencyMs?: number;
  /**
   * Node simulation only: report every upload as taking exactly bytes * 8 / this rate, instead of the
   * time measured, so the link rates the aggregator and its policy see do not depend on how busy the
   * machine is (reproducible runs).
   */
  reportUplinkBps?: number;
  /** Node simulation only: run this many times slower than the machine (a slower phone in a simulated room). */
  slowdown?: number;
  /** Robustness experiment only: distort every update this way before uploading it (attack.ts). */
  attack?: Attack;
  energy?: EnergyConstants;
  /** Reconnection backoff, milliseconds. */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  telemetryIntervalMs?: number;
}

/** The longest user agent the aggregator accepts (HelloSchema): a longer one is cut, not refused. */
const USER_AGENT_MAX_CHARS = HelloSchema.shape.userAgent.unwrap().maxLength ?? undefined;

/** The backend tfjs runs on, in the protocol's vocabulary. */
function backendName(info: BackendInfo | null): Backend {
  return BACKENDS.find((backend) => backend === info?.backend) ?? 'cpu';
}

export class DeviceRuntime {
  readonly events = new Channel<RuntimeEvent>();
  deviceId: string | undefined;
  /** Proves deviceId on a rejoin; given by the aggregator with a new id, kept for the device's life. */
  resumeToken: string | undefined;
  backend: BackendInfo | null = null;
  totals: DeviceTotals = emptyDeviceTotals();

  /** This device's uplink rate, smoothed from its own timed uploads (core's Ewma, as the aggregator smooths it). */
  private readonly uplink = new Ewma();
  private connection: Connection | null = null;
  private welcome: Welcome | null = null;
  private env: TrainEnv | null = null;
  private readonly tasks = new TaskQueue();
  private lastUpload: { bytes: number; ms: number } | undefined;
  /** This device's own timing of its last model download, for the aggregator's downlink estimate. */
  private lastDownload: { bytes: number; ms: number } | undefined;
  private readonly models: ModelFetcher;
  private stepMs: number | undefined;
  private loop: Promise<void> | null = null;
  private telemetryTimer: ReturnType<typeof setInterval> | null = null;
  private readonly energy: EnergyConstants;
  /** The run whose model and shard are ready; a task that arrives before then waits for them. */
  private preparedRun: string | null = null;
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(private readonly options: DeviceRuntimeOptions) {
    this.deviceId = options.deviceId;
    this.resumeToken = options.resumeToken;
    this.energy = options.energy ?? DEFAULT_ENERGY_CONSTANTS;
    this.models = new ModelFetcher(options.url);
  }

  get uplinkBps(): number | null {
    return this.uplink.value;
  }

  /** Connects, joins and keeps training the tasks it is given until leave() or stop(). */
  async start(): Promise<void> {
    const { options } = this;
    this.backend = await initBackend(options.backend, options.wasmPath ? { wasmPath: options.wasmPath } : undefined);
    this.events.push({ type: 'status', state: 'connecting' });
    this.connection = new Connection(options, {
      connected: () => void this.joinWhenAble(),
      disconnected: (reason) => {
        if (!this.tasks.isStopped) this.events.push({ type: 'status', state: 'disconnected', message: reason });
      },
      connectError: (message, code) => {
        if (code === 'bad-join-code') {
          this.fail(message, code);
          this.stop();
        } else {
          this.events.push({ type: 'status', state: 'disconnected', message: `cannot reach the aggregator (${message}); retrying` });
        }
      },
      task: (task) => this.tasks.offer(task),
      cancel: ({ round, reason }) => {
        this.tasks.cancel(round);
        this.connection?.secureInbox.cancel(round, reason);
      },
      summary: (summary) => {
        this.tasks.committed(summary.round);
        this.events.push({ type: 'summary', summary });
      },
      brief: (brief) => this.events.push({ type: 'brief', brief }),
      refused: (reply) => this.events.push({ type: 'error', message: reply.reason, code: reply.code }),
      protocolError: (error) => this.fail(error.message, 'protocol'),
    });
    this.connection.open();
    this.telemetryTimer = setInterval(() => void this.sendTelemetry(), options.telemetryIntervalMs ?? TELEMETRY_INTERVAL_MS);
    this.loop ??= this.runLoop();
  }

  /** Tells the aggregator at once that this device leaves, then disconnects. */
  async leave(): Promise<void> {
    await this.connection?.leave();
    this.events.push({ type: 'status', state: 'left' });
    this.stop();
  }

  stop(): void {
    if (this.tasks.isStopped) return;
    this.tasks.stop();
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.connection?.close();
    void (this.loop ?? Promise.resolve()).finally(() => {
      if (this.env) disposeTrainEnv(this.env);
      this.env = null;
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

  /**
   * Joins, and joins again while the aggregator answers 'unavailable': a cluster of aggregator
   * nodes between two leaders (docs/SCALE.md, section 3) refuses joins until the new one is known,
   * a matter of seconds. Any other refusal, or the last try, is the device's error.
   */
  private async joinWhenAble(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.join();
      } catch (error) {
        const { message, code } = error as Error & { code?: string };
        if (code !== 'unavailable' || attempt >= JOIN_ATTEMPTS || this.tasks.isStopped) return this.fail(message, code);
        this.events.push({ type: 'status', state: 'connecting', message: `${message}; joining again in ${attempt * JOIN_RETRY_MS / 1000} s` });
        await new Promise((resolve) => setTimeout(resolve, attempt * JOIN_RETRY_MS));
        if (this.tasks.isStopped || !this.connection?.connected) return;
      }
    }
  }

  private async join(): Promise<void> {
    const connection = this.connection!;
    const hello: Hello = {
      protocol: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      resumeToken: this.deviceId ? this.resumeToken : undefined,
      name: this.options.name,
      platform: this.options.platform,
      backend: backendName(this.backend),
      adapter: this.backend?.adapter,
      userAgent: this.options.userAgent?.slice(0, USER_AGENT_MAX_CHARS),
      telemetry: await this.options.telemetry.read(),
    };
    const welcome = await connection.join(hello);
    if (welcome.resumeToken) this.resumeToken = welcome.resumeToken;
    this.deviceId = welcome.deviceId;
    this.welcome = welcome;
    if (this.preparedRun !== welcome.runId) {
      await this.prepare(welcome);
      this.preparedRun = welcome.runId;
      this.markReady();
    }
    this.events.push({ type: 'joined', deviceId: welcome.deviceId, resumeToken: this.resumeToken, welcome, backend: this.backend!, shardSize: this.env?.shard.length ?? 0 });
    const probe = await connection.probe(welcome.maxUpdateBytes);
    if (probe) this.noteUpload(probe.bytes, probe.ms);
    await this.sendTelemetry();
    // A task can arrive and start while the probe runs (async rounds hand one out at join): the
    // page must then keep showing it training, not "waiting for the next round".
    if (!this.tasks.training && !this.tasks.waiting) this.events.push({ type: 'status', state: 'idle' });
  }

  /** Picks the backend (by measurement where none was fixed), builds the model the aggregator described and finds this device's own shard. */
  private async prepare(welcome: Welcome): Promise<void> {
    const config = validateModelConfig(welcome.model);
    if (!this.options.backend && this.options.platform !== 'node') {
      const choice = await chooseBackend(config, welcome.batchSize ?? BACKEND_TRIAL_BATCH_SIZE, this.options.wasmPath ? { wasmPath: this.options.wasmPath } : {});
      this.backend = choice.info;
      this.stepMs = choice.stepMs;
      this.events.push({ type: 'backend-trial', chosen: choice.info.backend, stepMs: choice.stepMs, trials: choice.trials, reason: choice.reason });
    }
    if (this.env) disposeTrainEnv(this.env);
    this.env = null;
    const env = await buildTrainEnv(config, welcome, this.options.data, this.options.slowdown, this.options.attack);
    if (welcome.lora) {
      // A LoRA run: the frozen base once for the whole run (16 bits, SHA-256 checked), then only adapter vectors per task.
      try {
        // (not reported as lastDownload: the aggregator times downloads of the models tasks name)
        const { frame } = await this.models.getBase(welcome.lora.base, AbortSignal.timeout(BASE_FETCH_TIMEOUT_MS));
        attachBase(env, welcome.lora, frame);
      } catch (error) {
        disposeTrainEnv(env);
        throw error;
      }
      this.events.push({ type: 'lora', base: welcome.lora.base.name, method: welcome.lora.method, rank: welcome.lora.rank, adapterParams: welcome.lora.trainableLength, baseBytes: welcome.lora.base.bytes });
    }
    this.env = env;
  }

  private noteUpload(bytes: number, measuredMs: number): void {
    const rate = this.options.reportUplinkBps;
    const ms = rate ? ((bytes * 8) / rate) * 1000 : measuredMs;
    this.lastUpload = { bytes, ms: Math.max(ms, MIN_TRANSFER_MS) };
    const bps = linkRateBps(bytes, this.lastUpload.ms);
    this.uplink.add(bps);
    this.events.push({ type: 'bandwidth', uplinkBps: this.uplink.value ?? bps });
  }

  private async sendTelemetry(): Promise<void> {
    if (!this.connection?.connected || !this.welcome) return;
    const telemetry = {
      ...(await this.options.telemetry.read()),
      ...(this.backend ? { backend: backendName(this.backend) } : {}),
      ...(this.stepMs ? { stepMs: this.stepMs } : {}),
      lastUpload: this.lastUpload,
      lastDownload: this.lastDownload,
    };
    this.lastUpload = undefined;
    this.lastDownload = undefined;
    this.connection.telemetry(telemetry);
  }

  private async runLoop(): Promise<void> {
    for (;;) {
      const next = await this.tasks.next();
      if (!next) return;
      await this.ready;
      if (!this.tasks.begin(next)) continue; // superseded or cancelled while the device was getting ready
      try {
        await this.runTask(next);
      } catch (error) {
        this.fail(`round ${next.task.round} failed on this device: ${(error as Error).message}`);
      } finally {
        this.tasks.finish();
        if (!this.tasks.isStopped) this.events.push({ type: 'status', state: 'idle' });
      }
    }
  }

  /** One task: the model it names (model-fetch.ts), train (train-round.ts), upload timed, account the modelled energy the aggregator accounts too. */
  private async runTask({ task }: PendingTask): Promise<void> {
    const env = this.env;
    const connection = this.connection;
    if (!env || !connection || !this.welcome) throw new Error('not joined yet');
    const mode = task.mode ?? 'sync';
    if (Boolean(task.lora) !== Boolean(env.lora)) {
      throw new Error(task.lora ? 'the task is a LoRA task, but this run\'s welcome named no base' : 'the task trains the full model, but this device joined a LoRA run');
    }
    this.events.push({ type: 'task', round: task.round, bits: task.bits, trainBits: task.trainBits, localSteps: task.localSteps, mode, version: task.version ?? null, timeBudgetMs: task.timeBudgetMs ?? null });
    this.events.push({ type: 'status', state: 'training' });
    // Fetched once per version (or the copy held reused) and checked against the task's SHA-256; a copy that differs throws and is never trained on.
    const { frame: modelFrame, download } = await this.models.get(task.model, AbortSignal.timeout(Math.max(ACK_TIMEOUT_MS, task.deadlineMs)));
    if (download) this.lastDownload = download;
    if (this.tasks.isStale(task.round)) return;
    let lastProgress = 0;
    const hooks = {
      isStale: () => this.tasks.isStale(task.round),
      onStep: (step: number, steps: number, loss: number, elapsedMs: number) => {
        // Measured pace, kept even if the task is cut: the next plan and telemetry use it. A split
        // step's pace (the link both ways, the server's turn) is not this device's speed: not reported.
        if (!task.split) this.stepMs = elapsedMs / step;
        this.events.push({ type: 'step', round: task.round, step, steps, loss });
        if (Date.now() - lastProgress > PROGRESS_THROTTLE_MS || step === steps) {
          lastProgress = Date.now();
          connection.progress({ round: task.round, step, steps, loss });
        }
      },
    };
    // Split learning (train-split.ts): the front here, the rest on the server, step by step over the socket.
    const { split } = task;
    const trained: (TrainedUpdate & { traffic?: SplitTaskTraffic }) | null = split
      ? await trainSplitRound(
          env,
          { ...task, split },
          modelFrame,
          {
            forward: (meta, frame) => connection.splitForward(meta, frame, Math.max(ACK_TIMEOUT_MS, task.deadlineMs)),
            end: (meta) => connection.splitEnd(meta),
          },
          hooks,
        )
      : await (env.lora ? trainLoraRound : trainRound)(env, task, modelFrame, hooks);
    if (!trained) {
      void this.sendTelemetry(); // the aggregator learns this device's pace even from a task that was cut
      return;
    }
    const { meta } = trained;
    if (meta.steps > 0 && !split) this.stepMs = meta.trainMs / meta.steps;

    this.events.push({ type: 'status', state: 'uploading' });
    // The rate this upload is priced at is the one known before it, as the aggregator prices it
    // (it hears this upload's timing only in the next telemetry): the tab and the dashboard agree.
    const uplinkBps = this.uplinkBps;
    let frame: Pick<Uint8Array, 'byteLength'> = trained.frame;
    let reply: { ok: true } | { ok: false; reason: string };
    let ms: number;
    const secure = task.secureAggregation;
    if (secure) {
      // Secure aggregation: the update on the round's grid, then the four steps (secure-round.ts); no frame is sent.
      const started = Date.now();
      // The run's norm bound moves to the device under secure aggregation: scale the update to at most clipNorm, then the grid clips each value.
      const update = trained.compensated;
      if (secure.clipNorm !== undefined) {
        const factor = clipFactor(update.reduce((a, v) => a + v * v, 0), secure.clipNorm);
        if (factor < 1) for (let i = 0; i < update.length; i++) update[i] *= factor;
      }
      // With privacy: clipped, rounded and noised on the integers (core/privacy/ddg.ts), the noise from the platform's cryptographic source.
      const dp = secure.dp;
      const input = dp
        ? encodeDdg(update, { ...dp, length: update.length }, cryptoUniform())
        : encodeOnGrid(update, { bits: secure.gridBits, blockSize: task.blockSize, scales: secure.scales }, task.bits, task.seed);
      const record = { samples: meta.samples, steps: meta.steps, trainMs: meta.trainMs, loss: meta.loss };
      try {
        const result = await runSecureRound(connection.secureLink, {
          round: task.round,
          input,
          gridBits: secure.gridBits,
          ...(dp ? { dp: { modulusBits: dp.modulusBits, minSenders: dp.minSenders } } : {}),
          record,
          stepTimeoutMs: Math.max(ACK_TIMEOUT_MS, task.deadlineMs) + 4 * secure.stepDeadlineS * 1000,
        });
        frame = { byteLength: result.bytes };
        reply = { ok: true };
      } catch (error) {
        reply = { ok: false, reason: (error as Error).message };
      }
      ms = Date.now() - started;
    } else {
      // An upload may wait for its answer as long as the round runs, and never less than any other acknowledgement.
      ({ reply, ms } = await connection.upload(meta, trained.frame, Math.max(ACK_TIMEOUT_MS, task.deadlineMs)));
      if (reply.ok) {
        if (task.errorFeedback) env.errorFeedback.remember(trained.compensated, trained.frame);
        this.noteUpload(trained.frame.byteLength, ms);
        void this.sendTelemetry();
      }
    }
    const cost = costOfUpload({ macsPerStep: macsPerStep(env, task), paramCount: uploadLength(env, task), task, steps: meta.steps, frame, downlinkBytes: download?.bytes ?? 0, uplinkBps, splitTraffic: trained.traffic }, await this.options.telemetry.read(), this.energy);
    if (reply.ok) addUpload(this.totals, cost);
    this.events.push({
      type: 'uploaded',
      round: task.round,
      bits: task.bits,
      bytes: cost.bytes,
      fp32Bytes: cost.fp32Bytes,
      ms,
      accepted: reply.ok,
      reason: reply.ok ? undefined : reply.reason,
      steps: meta.steps,
      computeJ: cost.computeJ,
      transmitJ: cost.transmitJ,
      receiveJ: cost.receiveJ,
      energyJ: cost.energyJ,
      trainMs: meta.trainMs,
    });
  }
}
