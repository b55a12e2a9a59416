// The files a trained model is published as, one name each, for the aggregator's HTTP API
// (GET /api/model/<name>) and the run directory (runs/<id>/model/<name>); docs/EXPORT.md says how
// to use each.
//   model.json + group1-shard1of1.bin   TensorFlow.js graph model: tf.loadGraphModel runs it
//   model.safetensors                   PyTorch weights for python/fedbit_unet.py
//   fedbit-ddpm.json + weights.bin      this project's own format (config + layout; raw weights)
import type { ModelConfig } from '../config';
import type { ScheduleSpec } from '../schedule';
import { exportTfjs, WEIGHTS_FILE } from '../tfjs-format';
import { exportGraphModel, GRAPH_WEIGHTS_FILE } from './graph-model';
import { exportSafetensors, SAFETENSORS_FILE } from './safetensors';

export const GRAPH_MODEL_FILE = 'model.json';
export const FEDBIT_MODEL_FILE = 'fedbit-ddpm.json';
export const MODEL_FILES = [GRAPH_MODEL_FILE, GRAPH_WEIGHTS_FILE, SAFETENSORS_FILE, FEDBIT_MODEL_FILE, WEIGHTS_FILE] as const;
export type ModelFileName = (typeof MODEL_FILES)[number];

export interface ModelFileInfo {
  /** The noise schedule the model was trained with: the sampler needs it, and T sizes the time-feature table. */
  schedule: ScheduleSpec;
}

export function isModelFile(name: string): name is ModelFileName {
  return (MODEL_FILES as readonly string[]).includes(name);
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** One file of the published model. */
export function exportModelFile(name: ModelFileName, config: ModelConfig, weights: Float32Array, info: ModelFileInfo): Uint8Array {
  switch (name) {
    case GRAPH_MODEL_FILE:
    case GRAPH_WEIGHTS_FILE: {
      const { modelJson, weightData } = exportGraphModel(config, weights, { timesteps: info.schedule.steps, metadata: { schedule: info.schedule } });
      return name === GRAPH_MODEL_FILE ? json(modelJson) : new Uint8Array(weightData);
    }
    case SAFETENSORS_FILE:
      return exportSafetensors(config, weights, { 'fedbit.schedule': JSON.stringify(info.schedule) });
    case FEDBIT_MODEL_FILE:
      return json(exportTfjs(config, weights).modelJson);
    case WEIGHTS_FILE:
      return new Uint8Array(exportTfjs(config, weights).weightData);
    default: {
      const never: never = name;
      throw new Error(`unknown model file ${String(never)}; expected one of ${MODEL_FILES.join(', ')}`);
    }
  }
}

/** Every file, binaries before the JSON that points at them (a model.json is only written next to its weights). */
export function exportModelFiles(config: ModelConfig, weights: Float32Array, info: ModelFileInfo): { name: ModelFileName; bytes: Uint8Array }[] {
  const graph = exportGraphModel(config, weights, { timesteps: info.schedule.steps, metadata: { schedule: info.schedule } });
  const own = exportTfjs(config, weights);
  return [
    { name: GRAPH_WEIGHTS_FILE, bytes: new Uint8Array(graph.weightData) },
    { name: WEIGHTS_FILE, bytes: new Uint8Array(own.weightData) },
    { name: SAFETENSORS_FILE, bytes: exportSafetensors(config, weights, { 'fedbit.schedule': JSON.stringify(info.schedule) }) },
    { name: GRAPH_MODEL_FILE, bytes: json(graph.modelJson) },
    { name: FEDBIT_MODEL_FILE, bytes: json(own.modelJson) },
  ];
}
