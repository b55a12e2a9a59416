// What a device trains with for a whole run, built once from the aggregator's welcome: the model it
// described (checked against the aggregator's layout, so an update means the same weights on both
// sides), the dataset, this device's own shard (the one shard plan, @fedbit/datasets shardOf; or
// all of the device's own drawn data) and
// the error-feedback residual carried from task to task.
import { ErrorFeedback, type Welcome } from '@fedbit/core';
import { createModel, layoutFingerprint, type DiffusionModel, type ModelConfig } from '@fedbit/diffusion';
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
  return { model, dataset, shard, schedule: welcome.schedule, errorFeedback: new ErrorFeedback(model.paramCount), slowdown, attack };
}
