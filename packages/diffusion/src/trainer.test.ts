import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { resolveModelConfig } from './config';
import { createModel } from './model';
import { createTrainer } from './trainer';
import { squares } from './test-squares';

const SIZE = 16;


const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('trainer on wasm', () => {
  const cfg = resolveModelConfig('tiny', { imageSize: SIZE, channels: 1 });
  const images = squares(8);

  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('gives the losses of main before issue 11 (tf.train.adam, constants per call) to 1e-5 relative', async () => {
    // `npm run bench:train -- --backend wasm --sizes tiny --json` at commit 846dc06: the bench's images, seed 0
    const before = [1.000608205795288, 0.9521285891532898, 1.0195826292037964, 0.9189322590827942, 0.9244922399520874, 0.9153082370758057, 0.884885847568512];
    const model = createModel(cfg, 0);
    const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: 8, schedule: { kind: 'cosine', steps: 1000 }, seed: 0 });
    const bench = new Float32Array(8 * SIZE * SIZE);
    for (let i = 0; i < bench.length; i++) bench[i] = ((i * 2654435761) % 997) / 997;
    for (const expected of before) {
      const loss = await trainer.step({ images: bench, count: 8 });
      expect(Math.abs(loss - expected) / expected).toBeLessThan(1e-5);
    }
    trainer.dispose();
    model.dispose();
  });

  it('the loss falls over 50 steps on a fixed batch', async () => {
    const model = createModel(cfg, 1);
    const trainer = createTrainer(model, { learningRate: 2e-3, batchSize: 8, schedule: { kind: 'cosine', steps: 200 }, seed: 1 });
    const losses: number[] = [];
    for (let i = 0; i < 50; i++) losses.push(await trainer.step({ images, count: 8 }));
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    expect(first).toBeGreaterThan(0.6); // the zero-initialised output predicts no noise: loss ~ 1
    expect(last).toBeLessThan(0.6 * first);
    trainer.dispose();
    model.dispose();
  });

  it('does not grow the tensor count between step 2 and step 20, and reset/dispose free Adam state', async () => {
    const start = tf.memory().numTensors;
    const model = createModel(cfg, 2);
    const afterModel = tf.memory().numTensors;
    expect(afterModel - start).toBe(model.layout.entries.length + model.constantCount);
    const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: 4, schedule: { kind: 'linear', steps: 100 }, seed: 2, trainBits: 8, quantizeActivations: true });
    let at2 = 0;
    for (let i = 1; i <= 20; i++) {
      await trainer.step({ images: images.subarray(0, 4 * SIZE * SIZE), count: 4 });
      if (i === 2) at2 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(at2);
    trainer.resetOptimizer();
    await trainer.step({ images: images.subarray(0, 4 * SIZE * SIZE), count: 4 });
    expect(tf.memory().numTensors).toBe(at2);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(afterModel);
    model.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('steps are reproducible by seed, and quantization-aware training changes them', async () => {
    const run = async (trainBits: number) => {
      const model = createModel(cfg, 3);
      const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: 8, schedule: { kind: 'cosine', steps: 100 }, seed: 9, trainBits });
      const losses = [await trainer.step({ images, count: 8 }), await trainer.step({ images, count: 8 }), await trainer.step({ images, count: 8 })];
      const w = model.getWeights();
      trainer.dispose();
      model.dispose();
      return { losses, w };
    };
    const a = await run(32);
    const b = await run(32);
    const q = await run(4);
    expect(b.losses).toEqual(a.losses);
    expect(b.w).toEqual(a.w);
    expect(q.losses[2]).not.toBe(a.losses[2]);
    // the latent weights stay full precision under QAT
    expect(new Set(Array.from(q.w.subarray(0, 2000))).size).toBeGreaterThan(100);
  });

  it('trains a class-conditional model with label dropout, and checks its inputs', async () => {
    const model = createModel(resolveModelConfig('tiny', { imageSize: SIZE, channels: 1, numClasses: 4 }), 4);
    const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: 8, schedule: { kind: 'cosine', steps: 100 }, seed: 4, condDropout: 0.2 });
    const loss = await trainer.step({ images, labels: Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), count: 8 });
    expect(loss).toBeGreaterThan(0);
    await expect(trainer.step({ images, count: 7 })).rejects.toThrow(/7 images of 16x16x1 need 1792/);
    await expect(trainer.step({ images, labels: Int32Array.from([1]), count: 8 })).rejects.toThrow(/labels/);
    trainer.dispose();
    model.dispose();
  });
});
