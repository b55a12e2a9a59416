// The run's conductor: start, pause and stop, config changes, and the wait loop that opens a
// synchronous round (run-round.ts) whenever enough devices are there, or keeps every free device
// busy in buffered async mode (run-async.ts). It owns the run's state and hands the round engine a
// RoundContext; the transport reaches it only through the device API (device-api.ts). Readers get
// getters and a read-only snapshot; nothing public here can be assigned.
import { WeightEma, createPolicy, frameBytes, jsMergeKernel, type MergeKernel, type OpenRoundStatus, type PrecisionPolicy, type RoundSummary, type RunPhase, type RunTotals } from '@fedbit/core';
import type { Logger } from 'pino';
import { patchedConfig, type ConfigPatch, type RunConfig } from '../config';
import { AFTER_DROP_PAUSE_MS, IDLE_POLL_MS, MODEL_VERSIONS_KEPT_MAX, MODEL_VERSIONS_KEPT_SYNC } from '../constants';
import { DeviceRegistry, type DeviceDirectory, type JoinRecord, type Measures } from '../devices/registry';
import type { ServerMetrics } from '../metrics';
import type { ModelHost } from '../model-host';
import { ModelVersions } from '../model-versions';
import type { Checkpoint, RunStore } from '../store';
import type { Transport } from '../transport/transport';
import type { ClusterHooks, RoundContext } from './context';
import { DeviceApi } from './device-api';
import type { OpenRound } from './open-round';
import { AsyncEngine } from './run-async';
import { runRound } from './run-round';
import { SplitServer } from '../split/split-server';
import { runSecureRound } from './run-secure-round';
import type { SecureSteps } from './secure-steps';
import { RunState, type RunView } from './run-state';
import { eligibleDevices } from './selection';
import { devicesNeeded, waitReason } from './wait';

export interface CoordinatorOptions {
  config: RunConfig;
  store: RunStore;
  host: ModelHost;
  log: Logger;
  metrics: ServerMetrics;
  /** How the engine reaches devices; given here, never assigned later. */
  transport: Transport;
  /** Where merges keep their running sum (server/src/merge); default the JavaScript kernel. */
  mergeKernel?: MergeKernel;
  resumeFrom?: Checkpoint | null;
  /** A node of a cluster (cluster/node.ts): the round loop runs only while this node leads, and rounds meet the other nodes' partial sums. */
  cluster?: ClusterHooks;
}

export class Coordinator {
  readonly runId: string;
  /** Length of the run's vector (the global model, or a LoRA run's adapters). */
  readonly paramCount: number;
  /** The largest frame a device may send: a 32-bit frame of the whole model. */
  readonly maxUpdateBytes: number;
  /** The outgoing transport this engine was built with. */
  readonly transport: Transport;
  /** The devices known to the run, for reading; the engine alone changes them. */
  readonly devices: DeviceDirectory;
  /** What a device can ask of the engine: the transport's incoming adapter calls this and nothing else. */
  readonly deviceApi: DeviceApi;
  /** The model versions tasks name, served over HTTP (model-http.ts). */
  readonly models: ModelVersions;

  private readonly registry = new DeviceRegistry();
  private readonly run: RunState;
  private readonly context: RoundContext;
  private open: OpenRound | null = null;
  /** The steps after training of the open secure round, if the run uses secure aggregation. */
  private secure: SecureSteps | null = null;
  private asyncEngine: AsyncEngine | null = null;
  private liveConfig: RunConfig;
  private policy: PrecisionPolicy;
  private wake: (() => void) | null = null;
  /** A cluster node that does not lead: no round loop here. */
  private following: boolean;
  private loopRunning: Promise<void> | null = null;
  private readonly changeListeners = new Set<() => void>();
  private readonly commitListeners = new Set<(summary: RoundSummary) => void>();

  constructor(options: CoordinatorOptions) {
    const { config, host, transport } = options;
    this.liveConfig = config;
    this.transport = transport;
    this.following = Boolean(options.cluster);
    this.devices = this.registry;
    this.runId = config.runId ?? 'run';
    this.policy = createPolicy(config.policy);
    this.paramCount = host.paramCount;
    this.maxUpdateBytes = frameBytes(32, host.paramCount, config.codec.blockSize);
    this.models = new ModelVersions(config.mode === 'async' ? Math.min(config.async.maxStaleness + 2, MODEL_VERSIONS_KEPT_MAX) : MODEL_VERSIONS_KEPT_SYNC);
    this.run = options.resumeFrom ? this.resumed(options.resumeFrom, options) : new RunState(host.initialWeights());
    if (config.emaDecay === 0) this.run.ema = null;
    else this.run.ema ??= new WeightEma({ decay: config.emaDecay });
    if (this.run.completed >= config.rounds) this.run.phase = 'done';
    const self = this;
    this.context = {
      get config() {
        return self.liveConfig;
      },
      get policy() {
        return self.policy;
      },
      run: this.run,
      runId: this.runId,
      devices: this.registry,
      host,
      models: this.models,
      mergeKernel: options.mergeKernel ?? jsMergeKernel,
      store: options.store,
      transport,
      log: options.log,
      metrics: options.metrics,
      maxUpdateBytes: this.maxUpdateBytes,
      split: config.split ? new SplitServer(host.modelConfig, config.split, this.run.global) : null,
      cluster: options.cluster ?? null,
      notify: () => this.notify(),
      committed: (summary) => {
        transport.broadcastSummary(summary, this.devices.all());
        this.commitListeners.forEach((listener) => listener(summary));
      },
    };
    this.deviceApi = new DeviceApi(this.context, { openRound: () => this.open, asyncRun: () => this.asyncEngine, secureSteps: () => this.secure });
  }

  /** The run as its checkpoint left it: weights, counters, totals, the devices' memory and the summaries so far. */
  private resumed(resume: Checkpoint, options: CoordinatorOptions): RunState {
    checkResumable(resume, options.host);
    const run = new RunState(resume.weights);
    this.restore(run, resume, options.store.readSummaries());
    return run;
  }

  private restore(run: RunState, resume: Checkpoint, summaries: RoundSummary[]): void {
    run.ema = null;
    if (resume.state.ema && resume.ema) {
      if (resume.ema.length !== resume.weights.length) throw new Error(`checkpoint's EMA holds ${resume.ema.length} weights, its model ${resume.weights.length}`);
      run.ema = WeightEma.restore({ decay: resume.state.ema.decay }, resume.ema, resume.state.ema.updates);
    }
    run.completed = resume.state.round;
    run.lossHistory = resume.state.lossHistory;
    run.totals = resume.state.totals;
    run.nextSeat = resume.state.nextShard;
    run.rdp = resume.state.rdp ?? [];
    for (const [id, saved] of Object.entries(resume.state.devices)) this.registry.restore(id, saved);
    run.summaries = summaries;
  }

  /**
   * Cluster: the run as the last committed version left it, read from Redis (a follower after each
   * commit, a node taking over as leader). The devices known are the checkpoint's, none connected:
   * the nodes register their connected devices again with a new leader.
   */
  adopt(checkpoint: Checkpoint, summaries: RoundSummary[]): void {
    checkResumable(checkpoint, this.context.host);
    this.registry.clear();
    this.run.global.set(checkpoint.weights);
    this.restore(this.run, checkpoint, summaries);
    if (this.liveConfig.emaDecay !== 0) this.run.ema ??= new WeightEma({ decay: this.liveConfig.emaDecay });
    this.run.commitTimes.push(Date.now());
    if (this.run.completed >= this.liveConfig.rounds) this.run.phase = 'done';
    else if (this.run.phase === 'done') this.run.phase = 'waiting';
    this.notify();
  }

  /**
   * Cluster: the devices whose joins an earlier leader recorded (in Redis) that the adopted
   * checkpoint does not name: they keep their ids, tokens and seats, and no new device takes a seat
   * one of them holds. Returns how many were new to this registry.
   */
  remember(records: ReadonlyMap<string, JoinRecord>): number {
    let added = 0;
    for (const [id, record] of records) {
      if (this.registry.remember(id, record)) added++;
      this.run.nextSeat = Math.max(this.run.nextSeat, record.seat + 1);
    }
    if (added > 0) this.notify();
    return added;
  }

  /** Cluster: what an earlier leader measured of the devices (link rates, step time, update statistics), over the checkpoint's; returns how many devices it named that this registry knows. */
  takeMeasures(measures: ReadonlyMap<string, Measures>): number {
    let taken = 0;
    for (const [id, m] of measures) if (this.registry.takeMeasures(id, m)) taken++;
    if (taken > 0) this.notify();
    return taken;
  }

  /** Cluster: this node leads now; its round loop starts (from the state adopted just before). */
  lead(): void {
    this.following = false;
    this.ensureLoop();
  }

  /** Cluster: this node no longer leads (its lease was lost): the open round is closed and no new one starts here. */
  follow(): void {
    this.following = true;
    this.open?.close('stopped');
    this.notify();
  }

  // ---- read-only views ----

  get config(): RunConfig {
    return this.liveConfig;
  }
  get phase(): RunPhase {
    return this.run.phase;
  }
  /** Split learning: the server's part and its step engine (null when devices train the whole model). */
  get split(): SplitServer | null {
    return this.context.split;
  }

  get completed(): number {
    return this.run.completed;
  }
  get global(): Float32Array {
    return this.run.global;
  }
  /** A LoRA run's base and adapter sizes for the dashboard; null for full training. */
  get loraStatus() {
    return this.context.host.loraStatus(this.liveConfig.codec.blockSize);
  }
  /** The classes a class-conditional model draws on request; null when unconditional. */
  get classNames(): string[] | null {
    return this.context.host.classNames;
  }
  /** The weights samples and FID are drawn with (the EMA of the committed models when the run keeps one). */
  get samplingWeights(): Float32Array {
    return this.run.samplingWeights;
  }
  get summaries(): readonly RoundSummary[] {
    return this.run.summaries;
  }
  get totals(): Readonly<RunTotals> {
    return this.run.totals;
  }
  /** The whole run state, read-only, for status and HTTP. */
  get snapshot(): RunView {
    return this.run;
  }
  get currentRound(): OpenRoundStatus | null {
    const open = this.open;
    if (!open) return null;
    return { round: open.round, deadlineAt: open.deadlineAt, selected: open.slots.size, received: open.accepted.length, quorum: this.liveConfig.quorum };
  }
  /** What the run waits for, in plain words, or null while it trains. */
  get waiting(): string | null {
    return waitReason(this.liveConfig, this.run, this.registry.eligibleCount(this.liveConfig), this.registry.connectedCount, Boolean(this.open || this.asyncEngine?.training));
  }

  /** The precision a device was assigned for the task it holds, if any. */
  assignedBits(deviceId: string): number | null {
    return this.open?.slots.get(deviceId)?.assignment.bits ?? this.asyncEngine?.assignedBits(deviceId) ?? null;
  }

  /** Calls `listener` whenever something a dashboard or a device shows changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls `listener` with each committed round's summary (after its checkpoint). */
  onCommitted(listener: (summary: RoundSummary) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  // ---- control ----

  start(): void {
    if (this.run.phase === 'done' || this.run.phase === 'stopped') return;
    this.run.phase = 'training';
    this.context.log.info({ round: this.run.completed }, 'run started');
    this.ensureLoop();
    this.notify();
  }

  pause(): void {
    if (this.run.phase !== 'training' && this.run.phase !== 'waiting') return;
    this.run.phase = 'paused';
    this.context.log.info('run paused: the open round finishes, no new round starts');
    this.notify();
  }

  async stop(): Promise<void> {
    this.run.phase = 'stopped';
    this.open?.close('stopped');
    this.secure?.close();
    this.notify();
    await this.loopRunning;
    await this.asyncEngine?.settled();
  }

  /**
   * A config change between rounds; written to the run directory so --resume keeps it. A finished
   * run given more rounds is paused (the admin starts it), unless `taken` (a cluster's new leader
   * taking the patches its predecessor recorded: the phase is then the run's control word's).
   */
  applyPatch(patch: ConfigPatch, taken = false): void {
    const next = patchedConfig(this.liveConfig, patch);
    if (patch.policy) this.policy = createPolicy(patch.policy);
    this.liveConfig = next;
    this.context.store.writeConfig(next);
    if (!taken && this.run.phase === 'done' && this.run.completed < next.rounds) this.run.phase = 'paused';
    this.context.log.info({ patch }, 'run config changed');
    this.notify();
  }

  /** Wakes the loop (a device joined or left, an update arrived, the admin acted) and tells the listeners. */
  private notify(): void {
    this.wake?.();
    for (const listener of this.changeListeners) listener();
  }

  /** Starts the wait loop if it is not running (it ends when the run is done or stopped). */
  ensureLoop(): void {
    if (this.following) return;
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

  private async loop(): Promise<void> {
    const run = this.run;
    while (run.phase !== 'stopped' && run.phase !== 'done' && !this.following) {
      const config = this.liveConfig;
      if (run.completed >= config.rounds) {
        await this.asyncEngine?.settled();
        run.phase = 'done';
        this.context.log.info({ rounds: run.completed }, 'run finished');
        this.notify();
        return;
      }
      // Counted, not listed: the loop wakes at every join, and the list is built only when a round or a dispatch needs it.
      const enough = this.registry.eligibleCount(config) >= devicesNeeded(config, run.completed);
      if (run.phase === 'waiting' && config.autoStart && enough) run.phase = 'training';
      if (config.mode === 'async') {
        this.asyncEngine ??= new AsyncEngine(this.context);
        this.asyncEngine.expire();
        if (run.phase === 'training' && enough) this.asyncEngine.dispatch(eligibleDevices(this.registry, config));
        await this.waitForChange(IDLE_POLL_MS);
        continue;
      }
      if (run.phase !== 'training' || !enough) {
        await this.waitForChange(IDLE_POLL_MS);
        continue;
      }
      const eligible = eligibleDevices(this.registry, config);
      const round = config.secureAggregation
        ? runSecureRound(this.context, run.completed + 1, eligible, (open, steps) => {
            this.open = open;
            this.secure = steps;
          })
        : runRound(this.context, run.completed + 1, eligible, (open) => (this.open = open));
      const summary = await round.catch((error: unknown) => this.roundFailed(run.completed + 1, error));
      if (!summary && run.phase === 'training') await this.waitForChange(AFTER_DROP_PAUSE_MS);
    }
  }

  /** An error inside one round ends that round, not the run: it is dropped, the global model is unchanged, the loop goes on. */
  private roundFailed(round: number, error: unknown): null {
    this.open?.close('stopped');
    this.open = null;
    this.secure?.close();
    this.secure = null;
    this.run.droppedRounds++;
    const message = `round ${round} failed on the aggregator (${(error as Error).message}); the model is unchanged and the round runs again`;
    this.run.lastRound = { round, outcome: 'dropped', accepted: 0, selected: 0, quorum: this.liveConfig.quorum, closedBy: 'stopped', message, at: Date.now() };
    this.context.log.error({ round, err: (error as Error).message, stack: (error as Error).stack }, 'round failed');
    this.context.metrics.roundDropped();
    this.notify();
    return null;
  }
}

/** Whether a checkpoint can continue with this model host; throws saying what differs. */
function checkResumable(resume: Checkpoint, host: ModelHost): void {
  if (resume.state.layoutFingerprint !== host.fingerprint) {
    throw new Error(`checkpoint was written for model layout ${resume.state.layoutFingerprint}, this model is ${host.fingerprint}`);
  }
  const lora = host.lora;
  const saved = resume.state.lora;
  if (lora && !saved) throw new Error(`checkpoint holds a full model, but this run fine-tunes LoRA adapters of '${lora.base.name}': resume it with the config it was written with`);
  if (!lora && saved) throw new Error(`checkpoint holds the LoRA adapters of base '${saved.base}', but this run trains the full model: resume it with the config it was written with`);
  if (lora && saved) {
    if (saved.base !== lora.base.name || saved.baseSha256 !== lora.base.sha256) {
      throw new Error(`checkpoint's adapters were trained on base '${saved.base}' (SHA-256 ${saved.baseSha256}); this run's base is '${lora.base.name}' (SHA-256 ${lora.base.sha256}): adapters only mean something on the base they were trained on`);
    }
    if (saved.method !== lora.method || saved.trainableLength !== lora.trainableLength) {
      throw new Error(`checkpoint holds a ${saved.method} adapter vector of ${saved.trainableLength} values; this run's LoRA config makes a ${lora.method} vector of ${lora.trainableLength}`);
    }
  }
  if (resume.weights.length !== host.paramCount) {
    throw new Error(`checkpoint holds ${resume.weights.length} weights, this model has ${host.paramCount}`);
  }
}
