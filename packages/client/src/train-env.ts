// What a device trains with for a whole run, built once from the aggregator's welcome: the model it
// described (checked against the aggregator's layout, so an update means the same weights on both
// sides), the dataset, this device's own shard (the one shard plan, @fedbit/datasets shardOf; or
// all of the device's own drawn data) and
// the error-feedback residual carried from task to task.
import { ErrorFeedback, decodeUpdate, splitMacsPerStep, type LoraBrief, type Task, type Welcome } from '@fedbit/core';
import { attachLora, createModel, layoutFingerprint, macsPerLoraTrainStep, macsPerTrainStep, splitPlan, type DiffusionModel, type LoraModel, type ModelConfig } from '@fedbit/diffusion';
import { shardOf, type ImageDataset } from '@fedbit/datasets';
import type { Attack } from './attack';

export interface DataProvider {
  load(name: 'mnist' | 'emoji', size: number): Promise<ImageDataset>;
  /**
   * true: the data is this device's own (drawn in the tab): it trains on all of it, instead of
   * its shard of a shipped dataset. It stays on the device either way: only updates go up.
   */
  readonly own?: boolean;
}

export interface TrainEnv {
  model: DiffusionModel;
  /** A LoRA run: the adapters on the frozen base (attachBase); null for full training. */
  lora: LoraModel | null;
  dataset: ImageDataset;
  /** This device's own image indices. */
  shard: Int32Array;
  schedule: { kind: 'linear' | 'cosine'; steps: number };
  errorFeedback: ErrorFeedback;
  /** Node simulation only: the device runs this many times slower (it sleeps (slowdown - 1) x each step's time). */
  slowdown?: number;
  /** Robustness experiment only: this simulated device distorts its update before it uploads it (attack.ts). */
  attack?: Attack;
}

/** Builds the model `config` (already validated) and loads this device's shard; throws when the layout differs from the aggregator's. */
export async function buildTrainEnv(config: ModelConfig, welcome: Welcome, data: DataProvider, slowdown?: number, attack?: Attack): Promise<TrainEnv> {
  const model = createModel(config, 0);
  const layout = layoutFingerprint(model.layout);
  if (layout !== welcome.layoutFingerprint) {
    model.dispose();
    throw new Error(`model layout ${layout} differs from the aggregator's ${welcome.layoutFingerprint}: update this device's app`);
  }
  const dataset = await data.load(welcome.shard.dataset, welcome.shard.imageSize);
  const shard = data.own ? Int32Array.from({ length: dataset.count }, (_, i) => i) : shardOf(dataset, welcome.shard);
  return { model, lora: null, dataset, shard, schedule: welcome.schedule, errorFeedback: new ErrorFeedback(model.paramCount), slowdown, attack };
}

/**
 * A LoRA run: the base's 16-bit frame (fetched once, its SHA-256 checked) becomes the model's
 * weights, and the adapters the welcome describes are attached (the base held at baseBits). The
 * adapter vector must have the length the aggregator announced; the error-feedback residual is
 * sized to it.
 */
export function attachBase(env: TrainEnv, brief: LoraBrief, baseFrame: Uint8Array): void {
  const weights = decodeUpdate(baseFrame, { length: env.model.paramCount, round: 0 });
  env.model.setWeights(weights);
  env.lora?.dispose();
  const lora = attachLora(env.model, { rank: brief.rank, alpha: brief.alpha, targets: brief.targets, method: brief.method, seed: brief.seed, baseBits: brief.baseBits });
  if (lora.paramCount !== brief.trainableLength) {
    lora.dispose();
    throw new Error(`the adapters this device built have ${lora.paramCount} values, the aggregator's ${brief.trainableLength}: update this device's app`);
  }
  env.lora = lora;
  env.errorFeedback = new ErrorFeedback(lora.paramCount);
}

/** Multiply-adds of one local step of what this device trains (the energy model's compute input). */
export function macsPerStep(env: TrainEnv, task: Pick<Task, 'batchSize' | 'split'>): number {
  // A split task: the device's part only, pruned (as the aggregator accounts it: core splitMacsPerStep).
  if (task.split) return splitMacsPerStep(splitPlan(env.model.config, task.split.cut).deviceMacsPerImage, task.batchSize, task.split.keepRatio);
  return env.lora ? macsPerLoraTrainStep(env.model.config, env.lora.layout, task.batchSize) : macsPerTrainStep(env.model.config, task.batchSize);
}

/** Parameters of what this device uploads: the model, the adapter vector, or a split task's front. */
export function uploadLength(env: TrainEnv, task: Pick<Task, 'split'>): number {
  if (task.split) return splitPlan(env.model.config, task.split.cut).deviceSize;
  return env.lora?.paramCount ?? env.model.paramCount;
}

/** Releases the run's tensors: the adapters, then the model. */
export function disposeTrainEnv(env: TrainEnv): void {
  env.lora?.dispose();
  env.lora = null;
  env.model.dispose();
}
