// Export and import in the TensorFlow.js model format: a model.json with a standard
// weightsManifest and one weights.bin of little-endian float32 values in layout order. Any tfjs
// program reads the tensors with tf.io.decodeWeights (or tf.io.loadWeights from a URL);
// modelTopology carries our config and layout, which this package needs to rebuild the U-Net.
import { validateModelConfig, type ModelConfig } from './config';
import { layoutFingerprint, sameLayout, type WeightLayout } from './layout';
import { modelLayout } from './model';

export const TFJS_FORMAT = 'fedbit-ddpm';
export const WEIGHTS_FILE = 'weights.bin';

export interface TfjsModelJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  modelTopology: { config: ModelConfig; layout: WeightLayout; fingerprint: string };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
}

export function exportTfjs(config: ModelConfig, weights: Float32Array): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const cfg = validateModelConfig(config);
  const layout = modelLayout(cfg);
  if (weights.length !== layout.total) {
    throw new Error(`exportTfjs: ${weights.length} weights given, the layout of this config has ${layout.total}`);
  }
  const modelJson: TfjsModelJson = {
    format: TFJS_FORMAT,
    generatedBy: '@fedbit/diffusion (TensorFlow.js 4.22)',
    convertedBy: null,
    modelTopology: { config: cfg, layout, fingerprint: layoutFingerprint(layout) },
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: layout.entries.map((e) => ({ name: e.name, shape: [...e.shape], dtype: 'float32' as const })) }],
  };
  const weightData = new ArrayBuffer(weights.length * 4);
  new Float32Array(weightData).set(weights);
  return { modelJson, weightData };
}

/**
 * Reads a model exported by exportTfjs. The weights are matched by name, so the manifest may list
 * them in any order and over several groups (their files concatenated in manifest order, as
 * tf.io.loadWeights does); every layout tensor must be present with its exact shape.
 */
export function importTfjs(modelJson: unknown, weightData: ArrayBuffer): { config: ModelConfig; weights: Float32Array } {
  const json = modelJson as Partial<TfjsModelJson> | null;
  if (!json || typeof json !== 'object') throw new Error('importTfjs: model.json must be an object');
  if (json.format !== TFJS_FORMAT) throw new Error(`importTfjs: format '${String(json.format)}' is not '${TFJS_FORMAT}'; this file was not written by exportTfjs`);
  const config = validateModelConfig(json.modelTopology?.config);
  const layout = modelLayout(config);
  const stored = json.modelTopology?.layout;
  if (stored && !sameLayout(stored, layout)) {
    throw new Error(`importTfjs: the stored layout (${layoutFingerprint(stored)}) differs from the layout this version builds for its config (${layoutFingerprint(layout)})`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new Error('importTfjs: weightsManifest is missing');
  const byName = new Map(layout.entries.map((e) => [e.name, e]));
  const weights = new Float32Array(layout.total);
  const filled = new Set<string>();
  let byteOffset = 0;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      const entry = byName.get(w.name);
      if (!entry) throw new Error(`importTfjs: weight '${w.name}' is not part of this model's layout`);
      if (w.dtype !== 'float32') throw new Error(`importTfjs: weight '${w.name}' has dtype ${w.dtype}; only float32 is supported`);
      if (w.shape.length !== entry.shape.length || w.shape.some((d, i) => d !== entry.shape[i])) {
        throw new Error(`importTfjs: weight '${w.name}' has shape [${w.shape}], the layout expects [${entry.shape}]`);
      }
      const bytes = entry.size * 4;
      if (byteOffset + bytes > weightData.byteLength) throw new Error(`importTfjs: weight data ends at byte ${weightData.byteLength}, '${w.name}' needs bytes up to ${byteOffset + bytes}`);
      weights.set(new Float32Array(weightData.slice(byteOffset, byteOffset + bytes)), entry.offset);
      byteOffset += bytes;
      filled.add(w.name);
    }
  }
  if (byteOffset !== weightData.byteLength) throw new Error(`importTfjs: weight data has ${weightData.byteLength} bytes, the manifest describes ${byteOffset}`);
  const missing = layout.entries.filter((e) => !filled.has(e.name)).map((e) => e.name);
  if (missing.length > 0) throw new Error(`importTfjs: ${missing.length} weights missing from the manifest (first: ${missing[0]})`);
  return { config, weights };
}
