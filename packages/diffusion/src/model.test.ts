import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { resolveModelConfig, validateModelConfig } from './config';
import { layoutFingerprint } from './layout';
import { createModel, labelOneHot, modelLayout, type DiffusionModel } from './model';
import { macsPerForward, macsPerTrainStep } from './net';
import { exportTfjs, importTfjs } from './tfjs-format';

// Stated in README.md; a change to the architecture must update both.
const PARAMS = {
  tiny16x1: 75_589,
  small16x1: 142_065,
  default28x1: 1_058_017,
  default32x3: 1_059_171,
};

describe('labelOneHot', () => {
  it('gives unlabelled images (-1: a person\'s photos) and out-of-range labels the "no label" row', () => {
    // 3 classes, so 4 columns; the last is "no label".
    expect(Array.from(labelOneHot([-1, 2, 3, 1.5], 4, 3))).toEqual([0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  });
});

describe('model', () => {
  const tinyCfg = resolveModelConfig('tiny', { imageSize: 16, channels: 1 });
  let model: DiffusionModel;

  beforeAll(async () => {
    await initBackend('wasm');
    model = createModel(tinyCfg, 7);
  });
  afterAll(() => model.dispose());

  it('has the parameter counts stated in the README', () => {
    expect(model.paramCount).toBe(PARAMS.tiny16x1);
    expect(modelLayout(resolveModelConfig('small', { imageSize: 16, channels: 1 })).total).toBe(PARAMS.small16x1);
    expect(modelLayout(resolveModelConfig('default', { imageSize: 28, channels: 1 })).total).toBe(PARAMS.default28x1);
    expect(modelLayout(resolveModelConfig('default', { imageSize: 32, channels: 3 })).total).toBe(PARAMS.default32x3);
    expect(modelLayout(resolveModelConfig('tiny', { imageSize: 14, channels: 1 })).total).toBe(PARAMS.tiny16x1);
  });

  it('config is plain JSON and survives a round trip', () => {
    expect(validateModelConfig(JSON.parse(JSON.stringify(tinyCfg)))).toEqual(tinyCfg);
    expect(() => validateModelConfig({ ...tinyCfg, groups: 5 })).toThrow(/groups/);
  });

  it('layout is contiguous and the fingerprint depends on names and shapes', () => {
    let offset = 0;
    for (const e of model.layout.entries) {
      expect(e.offset).toBe(offset);
      expect(e.size).toBe(e.shape.reduce((a, b) => a * b, 1));
      offset += e.size;
    }
    expect(model.layout.total).toBe(offset);
    const fp = layoutFingerprint(model.layout);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(layoutFingerprint(modelLayout(tinyCfg))).toBe(fp);
    expect(layoutFingerprint(modelLayout({ ...tinyCfg, numClasses: 10 }))).not.toBe(fp);
    expect(layoutFingerprint(modelLayout({ ...tinyCfg, channels: 3 }))).not.toBe(fp);
  });

  it('initialisation is deterministic by seed', () => {
    const again = createModel(tinyCfg, 7);
    const other = createModel(tinyCfg, 8);
    const w = model.getWeights();
    expect(again.getWeights()).toEqual(w);
    expect(other.getWeights()).not.toEqual(w);
    again.dispose();
    other.dispose();
  });

  it('getWeights -> setWeights round trip is identical, and setWeights validates the length', () => {
    const w = model.getWeights();
    const changed = w.map((v, i) => v + (i % 3) * 0.25);
    model.setWeights(changed);
    expect(model.getWeights()).toEqual(changed);
    model.setWeights(w);
    expect(model.getWeights()).toEqual(w);
    expect(() => model.setWeights(new Float32Array(w.length - 1))).toThrow(/Float32Array of 75589/);
  });

  it('predictNoise returns the input shape without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([3, 16, 16, 1]) as tf.Tensor4D;
    const y = model.predictNoise(x, [0, 10, 99]);
    expect(y.shape).toEqual([3, 16, 16, 1]);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('class-conditional forward works and the label changes the output', () => {
    const cfg = resolveModelConfig('tiny', { imageSize: 14, channels: 1, numClasses: 10 });
    const m = createModel(cfg, 3);
    // zero-initialised convolutions hide the embedding at first; give them weights
    const w = m.getWeights();
    for (const e of m.layout.entries.filter((e) => e.name.endsWith('conv2.kernel') || e.name === 'out.conv.kernel')) {
      for (let i = 0; i < e.size; i++) w[e.offset + i] = ((i % 5) - 2) * 0.1;
    }
    m.setWeights(w);
    const x = tf.randomNormal([2, 14, 14, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const a = m.predictNoise(x, [5, 5], Int32Array.from([1, 2]));
    const b = m.predictNoise(x, [5, 5], Int32Array.from([7, 2]));
    const c = m.predictNoise(x, [5, 5]); // "no label"
    expect(a.shape).toEqual([2, 14, 14, 1]);
    const diff = (p: tf.Tensor, q: tf.Tensor, k: number) => tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(p, [k], [1]), tf.slice(q, [k], [1])))).dataSync()[0]);
    expect(diff(a, b, 0)).toBeGreaterThan(1e-4); // label 1 vs 7
    expect(diff(a, b, 1)).toBeLessThan(1e-6); // same label 2
    expect(diff(a, c, 1)).toBeGreaterThan(1e-4); // label vs none
    tf.dispose([x, a, b, c]);
    m.dispose();
  });

  it('counts MACs exactly for a hand-computable config, and a train step is 3x forward', () => {
    const cfg = validateModelConfig({ version: 1, size: 'custom', imageSize: 4, channels: 1, baseChannels: 2, channelMults: [1], resBlocks: 1, midBlocks: 0, embedDim: 2, groups: 1, numClasses: 0 });
    // time: 2*2 + 2*2; in.conv: 16*9*1*2; down0.res0: conv1 16*9*2*2 + emb 2*2 + conv2 16*9*2*2;
    // up0.res0: concat 4 -> 2: conv1 16*9*4*2 + emb 4 + conv2 16*9*2*2 + skip 16*4*2;
    // up0.res1: concat 4 -> 2: same; out.conv 16*9*2*1
    const expected = 8 + 288 + (576 + 4 + 576) + 2 * (1152 + 4 + 576 + 128) + 288;
    expect(macsPerForward(cfg, 1)).toBe(expected);
    expect(macsPerForward(cfg, 8)).toBe(8 * expected);
    expect(macsPerTrainStep(cfg, 8)).toBe(24 * expected);
  });

  it('exports the TensorFlow.js format that tf.io.decodeWeights reads, and imports it back', () => {
    const w = model.getWeights();
    const { modelJson, weightData } = exportTfjs(tinyCfg, w);
    const json = JSON.parse(JSON.stringify(modelJson));
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const decoded = tf.io.decodeWeights(weightData, json.weightsManifest[0].weights);
    for (const e of model.layout.entries) {
      const t = decoded[e.name];
      expect(t.shape).toEqual(e.shape);
      expect(t.dataSync()).toEqual(w.subarray(e.offset, e.offset + e.size));
    }
    tf.dispose(Object.values(decoded));
    const back = importTfjs(json, weightData);
    expect(back.config).toEqual(tinyCfg);
    expect(back.weights).toEqual(w);
    // a wrong shape or a short file is refused
    const bad = JSON.parse(JSON.stringify(json));
    bad.weightsManifest[0].weights[0].shape = [1, 1, 1, 1];
    expect(() => importTfjs(bad, weightData)).toThrow(/shape/);
    expect(() => importTfjs(json, weightData.slice(0, 100))).toThrow(/bytes/);
  });
});
