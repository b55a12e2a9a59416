import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam } from './adam';
import { initBackend } from './backend';
import { resolveModelConfig } from './config';
import { createModel, type DiffusionModel } from './model';
import { downStageCount, macsPerForward } from './net';
import { normal } from './rng';
import { createDevicePart, createServerPart, splitPlan } from './split';

describe('split U-Net', () => {
  // conditional, so the label embedding is on the device side too
  const cfg = resolveModelConfig('tiny', { imageSize: 16, channels: 1, numClasses: 10 });
  let model: DiffusionModel;
  let weights: Float32Array;

  beforeAll(async () => {
    await initBackend('wasm');
    model = createModel(cfg, 3);
    // non-zero everywhere (the zero-initialised convs would hide a wrong gradient)
    const gen = normal(11);
    weights = Float32Array.from(model.getWeights(), (w) => w + 0.05 * gen());
    model.setWeights(weights);
  });
  afterAll(() => model.dispose());

  const n = 3;
  const x = () => tf.tensor4d(Float32Array.from({ length: n * 256 }, (_, i) => Math.sin(i * 0.37)), [n, 16, 16, 1]);
  const target = () => tf.tensor4d(Float32Array.from({ length: n * 256 }, (_, i) => Math.cos(i * 0.11)), [n, 16, 16, 1]);
  const t = [5, 80, 190];
  const labels = [2, 10, 7];

  it('plans every cut: parts add up to the model, MACs to the forward, shapes as the net makes them', () => {
    expect(downStageCount(cfg)).toBe(4);
    for (let cut = 1; cut <= 4; cut++) {
      const plan = splitPlan(cfg, cut);
      expect(plan.deviceSize + plan.serverSize).toBe(model.paramCount);
      expect(plan.deviceMacsPerImage + plan.serverMacsPerImage).toBe(macsPerForward(cfg, 1));
      expect(plan.crossing.length).toBe(cut + 1);
    }
    expect(splitPlan(cfg, 1).crossing).toEqual([[32], [16, 16, 12]]);
    expect(splitPlan(cfg, 3).crossing).toEqual([[32], [16, 16, 12], [16, 16, 12], [8, 8, 12]]);
    expect(splitPlan(cfg, 2).deviceMacsPerImage).toBeLessThan(splitPlan(cfg, 3).deviceMacsPerImage);
    expect(() => splitPlan(cfg, 0)).toThrow(/1\.\.4/);
    expect(() => splitPlan(cfg, 5)).toThrow(/1\.\.4/);
  });

  for (const cut of [1, 2, 4]) {
    it(`cut ${cut}: device then server is the full model's output, and the split backward its gradients`, async () => {
      const plan = splitPlan(cfg, cut);
      const device = createDevicePart(cfg, cut, weights.slice(0, plan.deviceSize));
      const server = createServerPart(cfg, cut, weights.slice(plan.deviceSize));
      const xs = x();
      const ys = target();
      const before = tf.memory().numTensors;

      const front = device.forward(xs, t, labels);
      const split = server.forward(front);
      const full = model.predictNoise(xs, t, labels);
      expect(Array.from(await split.data())).toEqual(Array.from(await full.data()));

      // full gradients
      const { value: fullLoss, grads: fullGrads } = tf.variableGrads(
        () => tf.mean(tf.squaredDifference(model.predictNoise(xs, t, labels), ys)) as tf.Scalar,
        model.variables as tf.Variable[],
      );
      // split: server backward to the cut, its gradients handed to the device backward
      const step = server.step(front, ys);
      const deviceGrads = device.gradients(xs, t, labels, step.atCut);
      expect(await step.loss.data()).toEqual(await fullLoss.data());

      const splitGrads = [...device.variables.map((v) => deviceGrads[v.name]), ...server.variables.map((v) => step.grads[v.name])];
      expect(splitGrads.length).toBe(model.variables.length);
      let worst = 0;
      for (let i = 0; i < splitGrads.length; i++) {
        const a = (await splitGrads[i].data()) as Float32Array;
        const b = (await fullGrads[model.variables[i].name].data()) as Float32Array;
        let scale = 0;
        for (const v of b) scale = Math.max(scale, Math.abs(v));
        for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]) / Math.max(scale, 1e-6));
      }
      // float32 rounding of a different summation order where a skip feeds two paths
      expect(worst).toBeLessThan(1e-5);

      tf.dispose([front.emb, ...front.skips, split, full, fullLoss, ...Object.values(fullGrads), step.loss, step.atCut.emb, ...step.atCut.skips, ...Object.values(step.grads), ...Object.values(deviceGrads)]);
      expect(tf.memory().numTensors).toBe(before);
      device.dispose();
      server.dispose();
      tf.dispose([xs, ys]);
    });
  }

  it('three Adam steps of device part + server part are three Adam steps of the full model', async () => {
    const cut = 2;
    const plan = splitPlan(cfg, cut);
    const full = createModel(cfg, 3);
    full.setWeights(weights);
    const device = createDevicePart(cfg, cut, weights.slice(0, plan.deviceSize));
    const server = createServerPart(cfg, cut, weights.slice(plan.deviceSize));
    const adamFull = new Adam(full.variables);
    const adamDevice = new Adam(device.variables);
    const adamServer = new Adam(server.variables);
    const xs = x();
    const ys = target();
    for (let k = 0; k < 3; k++) {
      tf.dispose(adamFull.minimize(() => tf.mean(tf.squaredDifference(full.predictNoise(xs, t, labels), ys)) as tf.Scalar, 1e-3));
      const front = device.forward(xs, t, labels);
      const step = server.step(front, ys);
      const deviceGrads = device.gradients(xs, t, labels, step.atCut);
      adamServer.applyGradients(step.grads, 1e-3);
      adamDevice.applyGradients(deviceGrads, 1e-3);
      tf.dispose([front.emb, ...front.skips, step.loss, step.atCut.emb, ...step.atCut.skips, ...Object.values(step.grads), ...Object.values(deviceGrads)]);
    }
    const a = full.getWeights();
    const b = new Float32Array(a.length);
    b.set(device.getWeights());
    b.set(server.getWeights(), plan.deviceSize);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    // Adam's steps are about lr = 1e-3 per weight: agreement far below a step
    expect(worst).toBeLessThan(1e-6);
    let moved = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== weights[i]) moved++;
    expect(moved).toBeGreaterThan(a.length / 2);
    [adamFull, adamDevice, adamServer, device, server, full].forEach((o) => o.dispose());
    tf.dispose([xs, ys]);
  });

  it('parts hold their slice of the weights and refuse the wrong length', () => {
    const plan = splitPlan(cfg, 2);
    const device = createDevicePart(cfg, 2, weights.slice(0, plan.deviceSize));
    expect(device.getWeights()).toEqual(weights.slice(0, plan.deviceSize));
    expect(() => device.setWeights(new Float32Array(3))).toThrow(/expects/);
    expect(() => createServerPart(cfg, 2, new Float32Array(plan.deviceSize))).toThrow(/server part/);
    device.dispose();
  });
});
