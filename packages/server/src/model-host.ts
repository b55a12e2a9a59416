// The aggregator's copy of the diffusion model: it creates the initial global weights, counts the
// multiply-accumulates the energy model needs, exports the model files (TensorFlow.js graph model, safetensors, our own format), draws the sample
// grid and measures FID-MNIST. The model runs on tfjs's wasm backend in Node.
//
// In a LoRA run (docs/LORA.md) the run's vector, what trains, is published, merged and checkpointed,
// is the adapter vector; the host holds the frozen base (lora-base.ts) with the adapters attached,
// and everything that draws or exports (samples, FID, the model files) takes the effective model:
// the base with the adapters folded in (LoraModel.effectiveWeights).
import { frameBytes, type LoraBrief, type LoraStatus } from '@fedbit/core';
import {
  attachLora,
  createModel,
  exportModelFile,
  exportModelFiles,
  initBackend,
  layoutFingerprint,
  macsPerLoraTrainStep,
  macsPerTrainStep,
  resolveModelConfig,
  sample,
  type ModelConfig,
  type ModelFileName,
  type DiffusionModel,
  type LoraModel,
} from '@fedbit/diffusion';
import { denoisingLoss, evaluateQuality, type QualityReport } from '@fedbit/diffusion/metrics';
import { encodePng, groupIndices, imageGrid, loadDataset, shardPlan, toFloatImages, type ImageDataset } from '@fedbit/datasets/node';
import { ConfigError, type RunConfig } from './config';
import { baseRef, baseResource, resolveBase, type BaseResource } from './lora-base';

/**
 * What the host reads of the run config: only fields no patch can change. The round reads the live
 * config for everything else (localSteps, batchSize: see macsPerStep), so a patch is never missed here.
 */
export type HostSettings = Pick<RunConfig, 'seed' | 'dataset' | 'model' | 'eval'> & Partial<Pick<RunConfig, 'lora'>>;

/** A LoRA run's base (as devices receive it) and the adapters on it. */
interface LoraState {
  base: BaseResource;
  model: LoraModel;
  initial: Float32Array;
  brief: LoraBrief;
}

export class ModelHost {
  private model: DiffusionModel | null = null;
  private reference: Float32Array | null = null;
  /** One render per model version and label, shared by every caller (a render blocks the event loop). */
  private sampleCache = new Map<string, Promise<Uint8Array>>();
  private sampleCacheRound = -1;

  private constructor(
    private readonly runConfig: HostSettings,
    readonly modelConfig: ModelConfig,
    readonly dataset: ImageDataset,
    readonly shardSizes: number[],
    private readonly evalIndices: Int32Array,
    private readonly loraBase: BaseResource | null,
    /** The dataset groups (indices) the run trains on, when the config names some; every device's shard spec carries them. */
    readonly groups: number[] | undefined,
  ) {}
  private loraState: LoraState | null = null;
  /** Full training's starting vector, set at create: the seeded init or model.init's base (drawing moves the net's weights, not this); null in a LoRA run. */
  private startVector: Float32Array | null = null;

  static async create(runConfig: HostSettings): Promise<ModelHost> {
    await initBackend('wasm');
    const dataset = await loadDataset(runConfig.dataset.name, { size: runConfig.dataset.imageSize });
    // The same plan every device computes for its own shard (packages/datasets/src/shard.ts).
    let groups: number[] | undefined;
    try {
      groups = runConfig.dataset.groups ? groupIndices(dataset, runConfig.dataset.groups) : undefined;
    } catch (error) {
      throw new ConfigError((error as Error).message, 'dataset.groups');
    }
    const plan = shardPlan(dataset, {
      dataset: runConfig.dataset.name,
      imageSize: runConfig.dataset.imageSize,
      partition: runConfig.dataset.partition,
      alpha: runConfig.dataset.alpha,
      seed: runConfig.seed,
      count: runConfig.dataset.shards,
      ...(groups ? { groups } : {}),
    });
    // A device on an empty shard has nothing to train on and would weigh 0 in the mean: refuse the
    // config at start, naming the fix, rather than select such devices later.
    const empty = plan.shards.filter((s) => s.length === 0).length;
    if (empty > 0) {
      const train = plan.shards.reduce((a, s) => a + s.length, 0);
      throw new ConfigError(
        `dataset.shards ${runConfig.dataset.shards}: the ${runConfig.dataset.partition} partition of ${runConfig.dataset.name}'s ${train} training images leaves ${empty} shard${empty === 1 ? '' : 's'} empty; expected fewer shards (devices share a shard when there are more devices than shards)`,
        'dataset.shards',
      );
    }
    let modelConfig = resolveModelConfig(runConfig.model.size, {
      imageSize: dataset.width,
      channels: dataset.channels,
      numClasses: runConfig.model.classConditional ? (dataset.classNames?.length ?? 10) : undefined,
    });
    // The frozen base of a LoRA run, or the starting point of full fine-tuning (model.init).
    const baseName = runConfig.lora?.base ?? (runConfig.model.init !== 'random' ? runConfig.model.init : null);
    const field = runConfig.lora ? 'lora.base' : 'model.init';
    let base: BaseResource | null = null;
    if (baseName !== null) {
      let resolved;
      try {
        resolved = await resolveBase(baseName, modelConfig, runConfig.seed);
      } catch (error) {
        throw new ConfigError((error as Error).message, field);
      }
      const c = resolved.config;
      if (c.imageSize !== dataset.width || c.channels !== dataset.channels) {
        throw new ConfigError(`${field}: '${resolved.name}' takes ${c.imageSize}x${c.imageSize}x${c.channels} images; this run's dataset is ${dataset.width}x${dataset.width}x${dataset.channels}: set dataset.imageSize to ${c.imageSize}`, field);
      }
      modelConfig = c;
      base = baseResource(resolved);
    }
    const host = new ModelHost(runConfig, modelConfig, dataset, plan.shards.map((s) => s.length), plan.eval, runConfig.lora ? base : null, groups);
    // Full fine-tuning starts from the base as devices would receive it (its 16-bit copy), the same start a LoRA run has.
    if (!runConfig.lora) host.startVector = base ? base.weights : host.net.getWeights();
    if (base && runConfig.lora) {
      try {
        host.attach();
      } catch (error) {
        host.dispose();
        throw error;
      }
    }
    return host;
  }

  /** Attaches the adapters to the base (a target that matches no layer is a config error naming it). */
  private attach(): void {
    const lora = this.runConfig.lora!;
    const base = this.loraBase!;
    const net = this.net;
    net.setWeights(base.weights);
    let model: LoraModel;
    try {
      model = attachLora(net, { rank: lora.rank, alpha: lora.alpha, targets: lora.targets, method: lora.method, seed: lora.seed ?? this.runConfig.seed, baseBits: lora.baseBits });
    } catch (error) {
      throw new ConfigError(`lora: ${(error as Error).message}`, 'lora.targets');
    }
    const r = model.lora;
    const brief: LoraBrief = { base: baseRef(base), rank: r.rank, alpha: r.alpha, targets: r.targets, method: r.method, seed: r.seed, baseBits: r.baseBits, trainableLength: model.paramCount };
    this.loraState = { base, model, initial: model.getAdapters(), brief };
  }

  private get net(): DiffusionModel {
    this.model ??= createModel(this.modelConfig, this.runConfig.seed);
    return this.model;
  }

  /** Length of the run's vector: what devices train, upload and the server merges (the adapter vector in a LoRA run). */
  get paramCount(): number {
    return this.loraState?.model.paramCount ?? this.net.paramCount;
  }
  /** Parameters of the whole diffusion model (the base's in a LoRA run). */
  get modelParamCount(): number {
    return this.net.paramCount;
  }
  /** The LoRA settings every device hears in its welcome; null for full training. */
  get lora(): LoraBrief | null {
    return this.loraState?.brief ?? null;
  }
  /** The base's 16-bit frame devices fetch once per run (model-http.ts); null for full training. */
  get base(): BaseResource | null {
    return this.loraState?.base ?? null;
  }
  /** What an update is, for refusals: the model, or the adapter vector. */
  get updateName(): string {
    const l = this.loraState;
    return l ? `this LoRA run's update (the ${l.brief.method} adapter vector, ${l.brief.trainableLength} values; a full-model update is not merged)` : 'the model';
  }
  /** The dashboard's view of a LoRA run; null for full training. */
  loraStatus(blockSize: number): LoraStatus | null {
    const l = this.loraState;
    if (!l) return null;
    const b = l.brief;
    return {
      base: b.base.name,
      baseSha256: b.base.sha256,
      method: b.method,
      rank: b.rank,
      targets: b.targets,
      adapterParams: b.trainableLength,
      modelParams: this.modelParamCount,
      adapterFrameBytes32: frameBytes(32, b.trainableLength, blockSize),
      fullFrameBytes32: frameBytes(32, this.modelParamCount, blockSize),
      baseBytes: b.base.bytes,
    };
  }

  /** The weights that draw and export: the vector itself, or in a LoRA run the base with these adapters folded in. */
  effectiveWeights(vector: Float32Array): Float32Array {
    const l = this.loraState;
    if (!l) return vector;
    l.model.setAdapters(vector);
    return l.model.effectiveWeights();
  }
  get fingerprint(): string {
    return layoutFingerprint(this.net.layout);
  }
  /** MACs of one local training step at this batch size; the round multiplies by the steps it plans (from the live config). */
  macsPerStep(batchSize: number): number {
    const l = this.loraState;
    return l ? macsPerLoraTrainStep(this.modelConfig, l.model.layout, batchSize) : macsPerTrainStep(this.modelConfig, batchSize);
  }

  /** The run's starting vector: the model's seeded init, or the adapters' (B = 0, A the shared init). */
  initialWeights(): Float32Array {
    return this.loraState ? this.loraState.initial.slice() : this.startVector!.slice();
  }

  /** One file of the published model (packages/diffusion/src/export/files.ts), from the run's vector. */
  modelFile(name: ModelFileName, weights: Float32Array): Uint8Array {
    return exportModelFile(name, this.modelConfig, this.effectiveWeights(weights), { schedule: this.runConfig.model.schedule });
  }

  /** Every file of the published model, in the order they are safe to write. */
  modelFiles(weights: Float32Array): { name: ModelFileName; bytes: Uint8Array }[] {
    return exportModelFiles(this.modelConfig, this.effectiveWeights(weights), { schedule: this.runConfig.model.schedule });
  }

  /** The class names a class-conditional model draws on request; null for an unconditional one. */
  get classNames(): string[] | null {
    if (this.modelConfig.numClasses === 0) return null;
    return this.dataset.classNames ?? Array.from({ length: this.modelConfig.numClasses }, (_, i) => String(i));
  }

  /** `count` images the weights draw (NHWC in [0, 1]) with the run's sampler; with labels, conditional, at eval.guidance. */
  draw(weights: Float32Array, count: number, seed: number, labels?: Int32Array): Promise<Float32Array> {
    return this.generate(weights, count, seed, labels);
  }

  /** The held-out denoising loss (@fedbit/diffusion/metrics denoisingLoss) of the model the weights make (a LoRA run: the base with the adapters folded in) on `count` images, at the noise `seed` fixes. */
  async denoisingLoss(weights: Float32Array, images: Float32Array, count: number, labels: Int32Array | undefined, seed: number): Promise<number> {
    this.net.setWeights(this.effectiveWeights(weights));
    return denoisingLoss(this.net, images, count, labels, { schedule: this.runConfig.model.schedule, seed });
  }

  private async generate(weights: Float32Array, count: number, seed: number, labels?: Int32Array): Promise<Float32Array> {
    this.net.setWeights(this.effectiveWeights(weights));
    const { sampler, steps, guidance } = this.runConfig.eval;
    return sample(this.net, { count, sampler, steps, seed, schedule: this.runConfig.model.schedule, labels, guidance: labels ? guidance : 0 });
  }

  /**
   * A PNG grid of images drawn by the model: 16 images, or for a class-conditional model one row
   * per class, or (label given) 16 of that class with classifier-free guidance. Rendered once per
   * round and label, however many ask at once.
   */
  samplesPng(weights: Float32Array, round: number, label?: number): Promise<Uint8Array> {
    if (label !== undefined && !(Number.isInteger(label) && label >= 0 && label < this.modelConfig.numClasses)) {
      throw new RangeError(
        this.modelConfig.numClasses === 0
          ? 'this run\'s model is unconditional: it cannot draw a chosen class (set "model": {"classConditional": true})'
          : `label must be a class number in 0..${this.modelConfig.numClasses - 1}, got ${label}`,
      );
    }
    if (this.sampleCacheRound !== round) {
      this.sampleCache.clear();
      this.sampleCacheRound = round;
    }
    const key = label === undefined ? 'all' : String(label);
    const cached = this.sampleCache.get(key);
    if (cached) return cached;
    const png = this.renderSamples(weights, label);
    this.sampleCache.set(key, png);
    png.catch(() => {
      if (this.sampleCache.get(key) === png) this.sampleCache.delete(key);
    });
    return png;
  }

  private async renderSamples(weights: Float32Array, label?: number): Promise<Uint8Array> {
    const classes = this.modelConfig.numClasses;
    const { width, channels } = this.dataset;
    const scale = Math.max(1, Math.round(64 / width));
    let labels: Int32Array | undefined;
    let cols = 4;
    if (label !== undefined) labels = new Int32Array(16).fill(label);
    else if (classes > 0) {
      cols = 8;
      labels = Int32Array.from({ length: classes * cols }, (_, i) => Math.floor(i / cols));
    }
    const count = labels?.length ?? 16;
    const images = await this.generate(weights.slice(), count, this.runConfig.seed + 7, labels);
    return encodePng(imageGrid(images, count, width, width, channels, { cols, pad: 2, scale }));
  }

  private baseSamples: Promise<Uint8Array> | null = null;
  /** The "before" of a LoRA run: the base alone (the adapters at their init, B = 0), drawn once. */
  baseSamplesPng(): Promise<Uint8Array> {
    if (!this.loraState) return Promise.reject(new RangeError('this run trains the full model: it has no base to draw (set "lora" in the run config)'));
    this.baseSamples ??= this.renderSamples(this.initialWeights());
    return this.baseSamples;
  }

  /** FID-MNIST and diversity of the global model against the held-out split (MNIST only). */
  async evaluate(weights: Float32Array): Promise<QualityReport | null> {
    if (this.runConfig.dataset.name !== 'mnist') return null;
    const count = this.runConfig.eval.samples;
    const reference = (this.reference ??= toFloatImages(this.dataset, this.evalIndices.subarray(0, Math.max(count, 256))));
    const generated = await this.generate(weights, count, this.runConfig.seed + 11);
    const size = this.dataset.width;
    return evaluateQuality({
      generated,
      generatedCount: count,
      reference,
      referenceCount: reference.length / (size * size),
      size,
      channels: 1,
    });
  }

  /**
   * The Fréchet distance FID-MNIST uses (our MNIST classifier's 128-d features; colour images are
   * taken to grayscale first), between `count` images the model draws and the run's held-out images
   * (of the run's groups only, when it names some), on any dataset. On emoji it says how close the
   * drawings are to the held-out styles in a digit classifier's features: a stand-in until a
   * classifier trained on the emoji styles exists, and never the Inception FID.
   */
  async heldOutFrechet(weights: Float32Array, count: number): Promise<number> {
    const { width, channels } = this.dataset;
    const reference = toFloatImages(this.dataset, this.evalIndices.subarray(0, Math.max(count, 256)));
    const generated = await this.generate(weights, count, this.runConfig.seed + 11);
    const report = await evaluateQuality({ generated, generatedCount: count, reference, referenceCount: reference.length / (width * width * channels), size: width, channels });
    return report.fidMnist;
  }

  dispose(): void {
    this.loraState?.model.dispose();
    this.loraState = null;
    this.model?.dispose();
    this.model = null;
  }
}
