// The server's half of split learning (docs/SPLIT.md; SplitFed, Thapa et al., arXiv 2004.12088;
// the lightweight scheme of Zhang, Ni, Wang, arXiv 2412.06414): it holds the back of the U-Net,
// runs every device's step through it one at a time (a queue: two devices' steps never race on
// the weights or Adam), and answers each split:forward with the gradient at the cut.
//
// A step is kept only once the device has shown it finished it: its gradients wait until the
// device's next split:forward or its split:end, and are thrown away if the device leaves first.
// So a device that disconnects mid-step leaves the server's weights exactly as its completed
// steps left them. The price: a step's server gradient is applied one step late (computed at
// weights up to one other step older), the staleness of SplitFed's sequential server.
//
// Two ways to hold the back (docs/SPLIT.md, "Mixed rounds"): one shared part that every device's
// steps train in turn (SplitFedV2, every device splits), or, where the run lets each device train
// whole or split (split.perDevice; or split.server 'per-device'), a copy per split device trained from its steps alone
// (SplitFedV1): then a split device's front and its copy are the whole model trained on its data,
// and wholeUpdate makes its round one whole-model update, averaged with the others by FedAvg.
import * as tf from '@tensorflow/tfjs-core';
import {
  FrameError,
  cutFrameBytes,
  decodeUpdate,
  encodeUpdate,
  decodeCut,
  encodeCut,
  keepMask,
  splitNoise,
  unpack,
  type Ack,
  type Bits,
  type Refusal,
  type SplitBackward,
  type SplitConfig,
  type SplitEnd,
  type SplitForward,
} from '@fedbit/core';
import { Adam, createServerPart, splitPlan, type ModelConfig, type ServerPart, type SplitPlan } from '@fedbit/diffusion';
import { frameErrorCode, refusal } from '../round/refusals';

export interface SplitSlot {
  deviceId: string;
  /** Local steps the device was asked for. */
  steps: number;
  batch: number;
}

interface DeviceSteps extends SplitSlot {
  /** The step id expected next (1 at round start). */
  next: number;
  /** Server gradients of the device's last step, applied once it shows it finished that step. */
  pending: tf.NamedTensorMap | null;
  alive: boolean;
  ended: boolean;
  /** SplitFedV1 (perDevice): this device's own copy of the back and its optimizer. */
  own: { part: ServerPart; adam: Adam } | null;
  activationBytes: number;
  gradientBytes: number;
}

export interface SplitTraffic {
  steps: number;
  activationBytes: number;
  gradientBytes: number;
}

export type SplitReply = { ack: Ack<SplitBackward>; frame?: Uint8Array };

export class SplitServer {
  readonly plan: SplitPlan;
  private readonly part: ServerPart;
  private readonly adam: Adam;
  private round = 0;
  private learningRate = 1e-3;
  private slots = new Map<string, DeviceSteps>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pixels: number;
  private readonly crossing: number;
  /** SplitFedV1: a copy of the back per split device (split.server 'per-device', implied by perDevice); else one shared back (SplitFedV2). */
  readonly copies: boolean;
  /** The back at round start (SplitFedV1: what each device's copy started from). */
  private start: Float32Array;
  /** Kept (applied) server steps of the round, and what crossed the cut: for the round's accounting. */
  traffic: SplitTraffic = { steps: 0, activationBytes: 0, gradientBytes: 0 };

  constructor(
    private readonly modelConfig: ModelConfig,
    readonly config: SplitConfig,
    /** The full model's weights; the server keeps its part. */
    global: Float32Array,
  ) {
    this.plan = splitPlan(modelConfig, config.cut);
    this.part = createServerPart(modelConfig, config.cut, global.slice(this.plan.deviceSize));
    this.adam = new Adam(this.part.variables);
    this.pixels = modelConfig.imageSize * modelConfig.imageSize * modelConfig.channels;
    this.crossing = this.plan.crossingPerImage;
    this.copies = config.server === 'per-device' || config.perDevice;
    this.start = global.slice(this.plan.deviceSize);
  }

  /** A new round: the server part from the global model, fresh Adam moments, and the devices it expects. */
  begin(round: number, global: Float32Array, slots: SplitSlot[], learningRate: number): Promise<void> {
    return this.enqueue(() => {
      this.discardAll();
      this.disposeCopies();
      this.round = round;
      this.learningRate = learningRate;
      this.start = global.slice(this.plan.deviceSize);
      this.part.setWeights(this.start);
      this.adam.reset();
      this.traffic = { steps: 0, activationBytes: 0, gradientBytes: 0 };
      const own = () => {
        if (!this.copies) return null;
        const part = createServerPart(this.modelConfig, this.config.cut, this.start);
        return { part, adam: new Adam(part.variables) };
      };
      this.slots = new Map(slots.map((s) => [s.deviceId, { ...s, next: 1, pending: null, alive: true, ended: false, own: own(), activationBytes: 0, gradientBytes: 0 }]));
    });
  }

  /** Values crossing the cut for a batch of n, and the share of them that is the (never dropped) embedding. */
  private shapeOf(n: number) {
    return { total: n * this.crossing, protectedPrefix: n * this.modelConfig.embedDim };
  }

  /** Checks one step's activations; a refusal changes nothing. Then queues the step and resolves with the gradient frame. */
  forward(deviceId: string, meta: SplitForward, frame: Uint8Array): Promise<SplitReply> {
    const at = { round: meta.round };
    const slot = this.slots.get(deviceId);
    const refuse = (r: Refusal) => Promise.resolve({ ack: r });
    if (meta.round !== this.round) return refuse(refusal('stale-round', `split step for round ${meta.round}, but round ${this.round} is open`, at));
    if (!slot || !slot.alive) return refuse(refusal('not-selected', `this device has no split task in round ${meta.round}`, at));
    if (slot.ended) return refuse(refusal('unexpected-step', `this device already ended its steps of round ${meta.round}`, { ...at, field: 'step' }));
    if (meta.step !== slot.next || meta.step > slot.steps) {
      return refuse(refusal('unexpected-step', `step ${meta.step} is not expected: the next step of this device is ${slot.next} of ${slot.steps}`, { ...at, field: 'step' }));
    }
    if (meta.batch !== slot.batch) return refuse(refusal('unexpected-step', `batch ${meta.batch}: the task asked for batches of ${slot.batch}`, { ...at, field: 'batch' }));
    const { total, protectedPrefix } = this.shapeOf(meta.batch);
    const mask = keepMask(total, protectedPrefix, this.config.dropout, meta.dropSeed);
    let kept = 0;
    for (const m of mask) kept += m;
    const maxBytes = cutFrameBytes(this.config.activationBits, kept);
    if (frame.byteLength > maxBytes) {
      return refuse(refusal('oversized', `activation frame of ${frame.byteLength} bytes; this step's ${kept} values at ${this.config.activationBits} bits take ${maxBytes}`, { ...at, field: 'frame' }));
    }
    let packed: Float32Array;
    try {
      packed = decodeCut(frame, { length: kept, bits: this.config.activationBits, step: meta.step });
    } catch (error) {
      if (error instanceof FrameError) return refuse(refusal(frameErrorCode(error), error.message, { ...at, field: error.field }));
      if (error instanceof RangeError) return refuse(refusal('bad-value', error.message, { ...at, field: 'frame' }));
      throw error;
    }
    slot.next++;
    return this.enqueue(() => this.runStep(slot, meta, mask, packed, frame.byteLength));
  }

  private runStep(slot: DeviceSteps, meta: SplitForward, mask: Uint8Array, packed: Float32Array, inBytes: number): SplitReply {
    const at = { round: meta.round };
    if (!slot.alive || meta.round !== this.round) return { ack: refusal('stale-round', `round ${meta.round} closed or this device left before its step ran`, at) };
    // The device's previous step is finished (it sent this one): keep it.
    this.keepPending(slot);
    const n = meta.batch;
    const full = unpack(packed, mask);
    const { emb: embShape, skips: skipShapes } = { emb: this.plan.crossing[0], skips: this.plan.crossing.slice(1) };
    const target = splitNoise(meta.noiseSeed, n * this.pixels);
    const front = tf.tidy(() => {
      let offset = 0;
      const take = (shape: number[]) => {
        const size = n * shape.reduce((a, b) => a * b, 1);
        const t = tf.tensor(full.subarray(offset, offset + size), [n, ...shape]);
        offset += size;
        return t;
      };
      const emb = take(embShape);
      const skips = skipShapes.map(take);
      return [emb, ...skips];
    });
    const targetT = tf.tensor4d(target, [n, this.modelConfig.imageSize, this.modelConfig.imageSize, this.modelConfig.channels]);
    const step = (slot.own?.part ?? this.part).step({ emb: front[0], skips: front.slice(1) }, targetT);
    try {
      const loss = step.loss.dataSync()[0];
      const grads = [step.atCut.emb, ...step.atCut.skips].map((g) => g.dataSync() as Float32Array);
      const flat = new Float32Array(full.length);
      let offset = 0;
      for (const g of grads) {
        flat.set(g, offset);
        offset += g.length;
      }
      let finite = Number.isFinite(loss);
      const out = new Float32Array(packed.length);
      let k = 0;
      for (let i = 0; i < flat.length; i++) {
        if (!mask[i]) continue;
        const v = flat[i];
        if (!Number.isFinite(v)) finite = false;
        out[k++] = v;
      }
      if (!finite) {
        tf.dispose(Object.values(step.grads));
        slot.next = meta.step; // the step may come again
        return { ack: refusal('bad-value', `step ${meta.step}: these activations give a non-finite loss or gradient; the step is dropped`, { ...at, field: 'frame' }) };
      }
      const reply = encodeCut(out, this.config.gradientBits, meta.step, (meta.dropSeed ^ 0x9e3779b9) >>> 0);
      slot.pending = step.grads;
      this.traffic.activationBytes += inBytes;
      this.traffic.gradientBytes += reply.byteLength;
      slot.activationBytes += inBytes;
      slot.gradientBytes += reply.byteLength;
      return { ack: { ok: true, round: meta.round, step: meta.step, loss }, frame: reply };
    } finally {
      tf.dispose([...front, targetT, step.loss, step.atCut.emb, ...step.atCut.skips]);
    }
  }

  /** The device's last step is done: keep it. */
  end(deviceId: string, meta: SplitEnd): Promise<Ack> {
    const slot = this.slots.get(deviceId);
    if (meta.round !== this.round) return Promise.resolve(refusal('stale-round', `split:end for round ${meta.round}, but round ${this.round} is open`, { round: meta.round }));
    if (!slot || !slot.alive) return Promise.resolve(refusal('not-selected', `this device has no split task in round ${meta.round}`, { round: meta.round }));
    if (slot.ended || meta.steps !== slot.next - 1) {
      return Promise.resolve(refusal('unexpected-step', `split:end says ${meta.steps} steps; this device sent ${slot.next - 1}${slot.ended ? ' and ended already' : ''}`, { round: meta.round, field: 'steps' }));
    }
    slot.ended = true;
    return this.enqueue(() => {
      if (slot.alive && this.round === meta.round) this.keepPending(slot);
      return { ok: true } as const;
    });
  }

  /** Bytes of this device's activations received and gradients sent this round (its energy and the round's totals). */
  deviceTraffic(deviceId: string): { activationBytes: number; gradientBytes: number } {
    const slot = this.slots.get(deviceId);
    return { activationBytes: slot?.activationBytes ?? 0, gradientBytes: slot?.gradientBytes ?? 0 };
  }

  /** The device left: its unfinished step is dropped, its finished ones stay. */
  gone(deviceId: string): void {
    const slot = this.slots.get(deviceId);
    if (!slot) return;
    slot.alive = false;
    if (slot.pending) tf.dispose(Object.values(slot.pending));
    slot.pending = null;
  }

  /** The server part's weights once every queued step has run (SplitFedV1: that device's copy). */
  async weights(deviceId?: string): Promise<Float32Array> {
    return this.enqueue(() => {
      if (deviceId === undefined) return this.part.getWeights();
      const own = this.slots.get(deviceId)?.own;
      if (!own) throw new Error(`device ${deviceId} has no copy of the server part this round`);
      return own.part.getWeights();
    });
  }

  /**
   * SplitFedV1: a split device's round as one whole-model update: its front's update (the frame it
   * uploaded, of the front's weights) followed by its copy of the back minus the back at round
   * start, re-encoded losslessly (float32) for the round's aggregator. Its steps are all kept: it
   * ended them before uploading (split:end is acknowledged only once its last step is kept).
   * Returns the refusal reason instead when the device has not ended its steps.
   */
  wholeUpdate(deviceId: string, frontFrame: Uint8Array, round: number, bits: Bits, blockSize: number): Uint8Array | string {
    const slot = this.slots.get(deviceId);
    if (!slot?.own || round !== this.round) return `this device has no split task in round ${round}`;
    if (!slot.ended) return `this device sent its update before split:end: its ${slot.next - 1} steps are not all kept`;
    const front = decodeUpdate(frontFrame, { length: this.plan.deviceSize, bits, round });
    const back = slot.own.part.getWeights();
    const whole = new Float32Array(this.plan.deviceSize + this.plan.serverSize);
    whole.set(front);
    for (let i = 0; i < back.length; i++) whole[this.plan.deviceSize + i] = back[i] - this.start[i];
    return encodeUpdate(whole, { bits: 32, round, blockSize, seed: round });
  }

  /** The round closed: steps not ended are dropped; resolves with the server part's weights. */
  async close(): Promise<Float32Array> {
    return this.enqueue(() => {
      this.discardAll();
      this.disposeCopies();
      return this.part.getWeights();
    });
  }

  dispose(): void {
    this.discardAll();
    this.disposeCopies();
    this.adam.dispose();
    this.part.dispose();
  }

  private keepPending(slot: DeviceSteps): void {
    if (!slot.pending) return;
    (slot.own?.adam ?? this.adam).applyGradients(slot.pending, this.learningRate);
    tf.dispose(Object.values(slot.pending));
    slot.pending = null;
    this.traffic.steps++;
  }

  private disposeCopies(): void {
    for (const slot of this.slots.values()) {
      slot.own?.adam.dispose();
      slot.own?.part.dispose();
      slot.own = null;
    }
  }

  private discardAll(): void {
    for (const slot of this.slots.values()) {
      if (slot.pending) tf.dispose(Object.values(slot.pending));
      slot.pending = null;
    }
  }

  private enqueue<T>(job: () => T): Promise<T> {
    const run = this.tail.then(job);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
