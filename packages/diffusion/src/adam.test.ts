import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam } from './adam';
import { initBackend } from './backend';

/** Deterministic values in (-1, 1). */
function det(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233) * 0.9);
}

const SHAPES = [[3, 3, 2, 4], [4], [5, 7], [1]];

function makeVariables(tag: string): tf.Variable[] {
  return SHAPES.map((shape, k) => tf.variable(tf.tensor(det(shape.reduce((a, b) => a * b, 1), k + 1), shape), true, `${tag}-${k}`));
}

/** A loss whose gradients differ per element and per step: sum_k sum (w_k - target_k)^2 * scale_k + sum sin(w_k). */
function lossOf(vars: tf.Variable[]): () => tf.Scalar {
  return () =>
    tf.tidy(() => {
      let total = tf.scalar(0);
      vars.forEach((v, k) => {
        const target = tf.tensor(det(v.size, 10 + k), v.shape);
        total = tf.add(total, tf.sum(tf.add(tf.mul(tf.square(tf.sub(v, target)), 0.5 + k), tf.sin(tf.mul(v, 3)))));
      });
      return total as tf.Scalar;
    });
}

async function values(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, k) => x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[k][i]) / Math.max(Math.abs(b[k][i]), 1e-3)))));
  return worst;
}

/** Adam in float64, for a learning rate that changes every step (tf.train.adam cannot). */
function referenceAdam(w0: Float64Array, grads: (w: Float64Array) => Float64Array, lrs: number[], b1 = 0.9, b2 = 0.999, eps = 1e-7): Float64Array {
  const w = Float64Array.from(w0);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  lrs.forEach((lr, step) => {
    const g = grads(w);
    const t = step + 1;
    for (let i = 0; i < w.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    }
  });
  return w;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`Adam on ${backend}`, () => {
    beforeAll(async () => {
      await initBackend(backend);
    });

    it('matches tf.train.adam to 1e-6 over 12 steps (same maths, bias correction included)', async () => {
      const ours = makeVariables(`${backend}-ours`);
      const theirs = makeVariables(`${backend}-theirs`);
      const adam = new Adam(ours);
      const reference = tf.train.adam(0.01);
      for (let step = 0; step < 12; step++) {
        const a = adam.minimize(lossOf(ours), 0.01);
        const b = reference.minimize(lossOf(theirs), true, theirs);
        expect(Math.abs((await a.data())[0] - (await b!.data())[0])).toBeLessThan(1e-4);
        tf.dispose([a, b!]);
      }
      expect(adam.step).toBe(12);
      const diff = maxRelDiff(await values(ours), await values(theirs));
      expect(diff).toBeLessThan(1e-6);
      // the weights moved: a broken update that leaves them alone would pass the comparison above only if tfjs's did too
      expect(maxRelDiff(await values(ours), SHAPES.map((s, k) => det(s.reduce((x, y) => x * y, 1), k + 1)))).toBeGreaterThan(1e-3);
      adam.dispose();
      reference.dispose();
      tf.dispose([...ours, ...theirs]);
    });

    it('takes a learning rate per step (a schedule) and matches float64 Adam', async () => {
      const w0 = det(20, 3);
      const w = tf.variable(tf.tensor1d(w0), true, `${backend}-sched`);
      const adam = new Adam([w]);
      const lrs = [0.05, 0.04, 0.03, 0.02, 0.01, 0.01, 0.005, 0.002];
      // loss = sum (w - 0.3)^2 * (1 + i/10): gradient 2 (w - 0.3) (1 + i/10)
      const scale = Float64Array.from({ length: 20 }, (_, i) => 1 + i / 10);
      const scaleT = tf.tensor1d(Float32Array.from(scale));
      for (const lr of lrs) {
        const loss = adam.minimize(() => tf.sum(tf.mul(tf.square(tf.sub(w, 0.3)), scaleT)) as tf.Scalar, lr);
        loss.dispose();
      }
      const expected = referenceAdam(Float64Array.from(w0), (x) => x.map((xi, i) => 2 * (xi - 0.3) * scale[i]), lrs);
      const got = (await w.data()) as Float32Array;
      got.forEach((g, i) => expect(Math.abs(g - expected[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected[i]))));
      expect(() => adam.minimize(() => tf.sum(w) as tf.Scalar, 0)).toThrow(/learningRate/);
      adam.dispose();
      tf.dispose([w, scaleT]);
    });

    it('reset() starts again from step 1: the next step equals a fresh optimizer first step', async () => {
      const a = makeVariables(`${backend}-reset-a`);
      const b = makeVariables(`${backend}-reset-b`);
      const adam = new Adam(a);
      for (let i = 0; i < 3; i++) adam.minimize(lossOf(a), 0.01).dispose();
      // bring b to a's weights, then one step each: a after reset, b with a new optimizer
      b.forEach((v, k) => v.assign(a[k]));
      adam.reset();
      expect(adam.step).toBe(0);
      const fresh = new Adam(b);
      adam.minimize(lossOf(a), 0.01).dispose();
      fresh.minimize(lossOf(b), 0.01).dispose();
      expect(maxRelDiff(await values(a), await values(b))).toBe(0);
      adam.dispose();
      fresh.dispose();
      tf.dispose([...a, ...b]);
    });

    it('keeps the tensor count constant across steps, learning-rate changes and reset; dispose frees its state', async () => {
      const vars = makeVariables(`${backend}-mem`);
      const start = tf.memory().numTensors;
      const adam = new Adam(vars);
      adam.minimize(lossOf(vars), 0.01).dispose();
      const afterFirst = tf.memory().numTensors;
      // state: two moments per variable and the kept constants, nothing per step
      expect(afterFirst - start).toBeGreaterThanOrEqual(2 * vars.length);
      for (let i = 0; i < 10; i++) adam.minimize(lossOf(vars), 0.01 / (i + 1)).dispose();
      expect(tf.memory().numTensors).toBe(afterFirst);
      adam.reset();
      adam.minimize(lossOf(vars), 0.01).dispose();
      expect(tf.memory().numTensors).toBe(afterFirst);
      adam.dispose();
      expect(tf.memory().numTensors).toBe(start);
      expect(() => adam.minimize(lossOf(vars), 0.01)).toThrow(/disposed/);
      tf.dispose(vars);
    });
  });
}
