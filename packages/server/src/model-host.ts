// The aggregator's copy of the diffusion model: it creates the initial global weights, counts the
// multiply-accumulates the energy model needs, exports the model files (TensorFlow.js graph model, safetensors, our own format), draws the sample
// grid and measures FID-MNIST. The model runs on tfjs's wasm backend in Node.
import {
  createModel,
  exportModelFile,
  exportModelFiles,
  initBackend,
  layoutFingerprint,
  macsPerTrainStep,
  resolveModelConfig,
  sample,
  type ModelConfig,
  type ModelFileName,
  type DiffusionModel,
} from '@fedbit/diffusion';
import { evaluateQuality, type QualityReport } from '@fedbit/diffusion/metrics';
import { encodePng, imageGrid, loadDataset, shardPlan, toFloatImages, type ImageDataset } from '@fedbit/datasets/node';
import { ConfigError, type RunConfig } from './config';

/**
 * What the host reads of the run config: only fields no patch can change. The round reads the live
 * config for everything else (localSteps, batchSize: see macsPerStep), so a patch is never missed here.
 */
export type HostSettings = Pick<RunConfig, 'seed' | 'dataset' | 'model' | 'eval'>;

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
  ) {}

  static async create(runConfig: HostSettings): Promise<ModelHost> {
    await initBackend('wasm');
    const dataset = await loadDataset(runConfig.dataset.name, { size: runConfig.dataset.imageSize });
    // The same plan every device computes for its own shard (packages/datasets/src/shard.ts).
    const plan = shardPlan(dataset, {
      dataset: runConfig.dataset.name,
      imageSize: runConfig.dataset.imageSize,
      partition: runConfig.dataset.partition,
      alpha: runConfig.dataset.alpha,
      seed: runConfig.seed,
      count: runConfig.dataset.shards,
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
    const modelConfig = resolveModelConfig(runConfig.model.size, {
      imageSize: dataset.width,
      channels: dataset.channels,
      numClasses: runConfig.model.classConditional ? (dataset.classNames?.length ?? 10) : undefined,
    });
    return new ModelHost(runConfig, modelConfig, dataset, plan.shards.map((s) => s.length), plan.eval);
  }

  private get net(): DiffusionModel {
    this.model ??= createModel(this.modelConfig, this.runConfig.seed);
    return this.model;
  }

  get paramCount(): number {
    return this.net.paramCount;
  }
  get fingerprint(): string {
    return layoutFingerprint(this.net.layout);
  }
  /** MACs of one local training step at this batch size; the round multiplies by the steps it plans (from the live config). */
  macsPerStep(batchSize: number): number {
    return macsPerTrainStep(this.modelConfig, batchSize);
  }

  initialWeights(): Float32Array {
    return this.net.getWeights();
  }

  /** One file of the published model (packages/diffusion/src/export/files.ts). */
  modelFile(name: ModelFileName, weights: Float32Array): Uint8Array {
    return exportModelFile(name, this.modelConfig, weights, { schedule: this.runConfig.model.schedule });
  }

  /** Every file of the published model, in the order they are safe to write. */
  modelFiles(weights: Float32Array): { name: ModelFileName; bytes: Uint8Array }[] {
    return exportModelFiles(this.modelConfig, weights, { schedule: this.runConfig.model.schedule });
  }

  /** The class names a class-conditional model draws on request; null for an unconditional one. */
  get classNames(): string[] | null {
    if (this.modelConfig.numClasses === 0) return null;
    return this.dataset.classNames ?? Array.from({ length: this.modelConfig.numClasses }, (_, i) => String(i));
  }

  private async generate(weights: Float32Array, count: number, seed: number, labels?: Int32Array): Promise<Float32Array> {
    this.net.setWeights(weights);
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

  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }
}
