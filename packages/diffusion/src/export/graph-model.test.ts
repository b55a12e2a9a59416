import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { resolveModelConfig, type ModelConfig } from '../config';
import { createModel, type DiffusionModel } from '../model';
import { normal, normalArray } from '../rng';
import { exportGraphModel, GRAPH_WEIGHTS_FILE } from './graph-model';

/** Weights with every tensor non-zero (the zero-initialised output layers would hide most of the net). */
function randomWeights(model: DiffusionModel, seed: number): Float32Array {
  const gen = normal(seed);
  const w = normalArray(model.paramCount, gen);
  for (const e of model.layout.entries) {
    const scale = e.name.endsWith('.kernel') ? 1 / Math.sqrt(e.shape.slice(0, -1).reduce((a, b) => a * b, 1)) : 0.1;
    for (let i = e.offset; i < e.offset + e.size; i++) w[i] *= scale;
  }
  return w;
}

function loadFromMemory(modelJson: ReturnType<typeof exportGraphModel>['modelJson'], weightData: ArrayBuffer): Promise<tf.GraphModel> {
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
      signature: modelJson.signature,
      userDefinedMetadata: modelJson.userDefinedMetadata,
    }),
  );
}

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

async function compare(cfg: ModelConfig, labels?: number[]): Promise<number> {
  const model = createModel(cfg, 3);
  try {
    model.setWeights(randomWeights(model, 5));
    const { modelJson, weightData } = exportGraphModel(cfg, model.getWeights(), { timesteps: 50 });
    const graph = await loadFromMemory(modelJson, weightData);
    const n = 3;
    const x = tf.tensor4d(normalArray(n * cfg.imageSize * cfg.imageSize * cfg.channels, normal(9)), [n, cfg.imageSize, cfg.imageSize, cfg.channels]);
    const ts = [0, 17, 49];
    const t = tf.tensor1d(ts, 'int32');
    const label = labels ? tf.tensor1d(labels, 'int32') : null;
    const before = tf.memory().numTensors;
    const eps = graph.predict(label ? { x, t, label } : { x, t }) as tf.Tensor;
    const ours = model.predictNoise(x as tf.Tensor4D, ts, labels);
    expect(eps.shape).toEqual(ours.shape);
    const diff = await maxDiff(eps, ours);
    // the outputs are not tiny: a match is not a pair of zeros
    const scale = tf.tidy(() => tf.max(tf.abs(ours)));
    expect((await scale.data())[0]).toBeGreaterThan(0.1);
    scale.dispose();
    tf.dispose([eps, ours]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(label ? [x, t, label] : [x, t]);
    graph.dispose();
    console.log(`graph vs predictNoise: max |diff| ${diff.toExponential(2)}`);
    return diff;
  } finally {
    model.dispose();
  }
}

describe('graph model export', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(async () => {
    await initBackend('wasm');
  });

  it('uses only stock TensorFlow ops and one weight shard that starts with the raw layout weights', () => {
    const cfg = resolveModelConfig('tiny', { imageSize: 16, channels: 1, numClasses: 10 });
    const model = createModel(cfg, 1);
    const w = model.getWeights();
    model.dispose();
    const { modelJson, weightData } = exportGraphModel(cfg, w, { timesteps: 20 });
    const ops = new Set(modelJson.modelTopology.node.map((n) => n.op));
    const stock = ['Placeholder', 'Const', 'Conv2D', 'BiasAdd', 'MatMul', 'AddV2', 'Sub', 'Mul', 'Square', 'Mean', 'Rsqrt', 'Sigmoid', 'Reshape', 'ConcatV2', 'ResizeNearestNeighbor', 'Slice', 'GatherV2', 'Less', 'GreaterEqual', 'LogicalOr', 'SelectV2', 'Identity'];
    expect([...ops].filter((op) => !stock.includes(op))).toEqual([]);
    expect(modelJson.format).toBe('graph-model');
    expect(modelJson.weightsManifest[0].paths).toEqual([GRAPH_WEIGHTS_FILE]);
    expect(new Float32Array(weightData, 0, w.length)).toEqual(w);
    const declared = modelJson.weightsManifest[0].weights.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
    expect(declared).toBe(weightData.byteLength);
    expect(Object.keys(modelJson.signature.inputs).sort()).toEqual(['label', 't', 'x']);
  });

  it('tf.loadGraphModel runs one denoising step equal to predictNoise (tiny, unconditional)', async () => {
    expect(await compare(resolveModelConfig('tiny', { imageSize: 16, channels: 1 }))).toBeLessThan(1e-5);
  });

  it('the same for a class-conditional model with odd sizes (crop after upsampling), and "no label" for out-of-range labels', async () => {
    const cfg: ModelConfig = { ...resolveModelConfig('tiny', { imageSize: 14, channels: 3, numClasses: 4 }), channelMults: [1, 2, 2] };
    expect(await compare(cfg, [2, -1, 4])).toBeLessThan(1e-5);
  });

  it('refuses weights that do not fit the config', () => {
    const cfg = resolveModelConfig('tiny', { imageSize: 16, channels: 1 });
    expect(() => exportGraphModel(cfg, new Float32Array(10), { timesteps: 10 })).toThrow(/10 weights given, the layout of this config has 75589/);
  });
});
