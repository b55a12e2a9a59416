import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { conv2dTrainable, samePadding, upsample2x } from './conv';
import { normal, normalArray } from './rng';

function rand(shape: number[], seed: number): tf.Tensor {
  const gen = normal(seed);
  return tf.tensor(normalArray(shape.reduce((a, b) => a * b, 1), gen), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

// Gradients of sum(conv(x, w) * r) for a fixed random r, so every output position matters.
function grads(x: tf.Tensor4D, w: tf.Tensor4D, r: tf.Tensor, stride: 1 | 2, mode: 'custom' | 'builtin') {
  const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(conv2dTrainable(xi as tf.Tensor4D, wi as tf.Tensor4D, stride, mode), r)));
  return g([x, w]);
}

const CASES: { name: string; x: [number, number, number, number]; k: number; ci: number; co: number; stride: 1 | 2 }[] = [
  { name: '3x3 stride 1, 6x6', x: [2, 6, 6, 3], k: 3, ci: 3, co: 4, stride: 1 },
  { name: '3x3 stride 2, even 8x8', x: [2, 8, 8, 2], k: 3, ci: 2, co: 3, stride: 2 },
  { name: '3x3 stride 2, odd 7x5', x: [3, 7, 5, 2], k: 3, ci: 2, co: 2, stride: 2 },
  { name: '1x1 stride 1', x: [2, 5, 5, 3], k: 1, ci: 3, co: 2, stride: 1 },
  { name: '1x1 stride 2, even (no padding)', x: [2, 6, 6, 2], k: 1, ci: 2, co: 2, stride: 2 },
];

describe('conv2dTrainable gradients (forward-conv custom grad) vs the cpu backend built-in', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  for (const c of CASES) {
    it(`agrees for ${c.name}`, () => {
      const x = rand(c.x, 1) as tf.Tensor4D;
      const w = rand([c.k, c.k, c.ci, c.co], 2) as tf.Tensor4D;
      const out = samePadding(c.x[1], c.k, c.stride).out;
      const outW = samePadding(c.x[2], c.k, c.stride).out;
      const r = rand([c.x[0], out, outW, c.co], 3);
      const [dxRef, dwRef] = grads(x, w, r, c.stride, 'builtin');
      const [dx, dw] = grads(x, w, r, c.stride, 'custom');
      expect(dx.shape).toEqual(x.shape);
      expect(dw.shape).toEqual(w.shape);
      expect(maxAbsDiff(dx, dxRef)).toBeLessThan(1e-4);
      expect(maxAbsDiff(dw, dwRef)).toBeLessThan(1e-4);
      // not trivially zero
      expect(tf.max(tf.abs(dwRef)).dataSync()[0]).toBeGreaterThan(0.1);
      tf.dispose([x, w, r, dxRef, dwRef, dx, dw]);
    });
  }

  it('the wasm backend gives the same gradients as cpu built-ins', async () => {
    const c = CASES[2];
    const x = rand(c.x, 4) as tf.Tensor4D;
    const w = rand([c.k, c.k, c.ci, c.co], 5) as tf.Tensor4D;
    const r = rand([c.x[0], 4, 3, c.co], 6);
    const [dxRef, dwRef] = grads(x, w, r, c.stride, 'builtin');
    const ref = [dxRef.dataSync().slice(), dwRef.dataSync().slice()];
    const shapes = [x.shape, w.shape, r.shape];
    const data = [x.dataSync().slice(), w.dataSync().slice(), r.dataSync().slice()];
    tf.dispose([x, w, r, dxRef, dwRef]);
    await initBackend('wasm');
    try {
      const [xw, ww, rw] = data.map((d, i) => tf.tensor(d, shapes[i]));
      const [dx, dw] = grads(xw as tf.Tensor4D, ww as tf.Tensor4D, rw, c.stride, 'custom');
      expect(maxAbsDiff(dx, tf.tensor(ref[0], dx.shape))).toBeLessThan(1e-4);
      expect(maxAbsDiff(dw, tf.tensor(ref[1], dw.shape))).toBeLessThan(1e-4);
    } finally {
      await initBackend('cpu');
    }
  });

  it('upsample2x matches nearest resize and its gradient is the 2x2 block sum (batch > 1)', () => {
    const x = tf.reshape(tf.range(0, 2 * 2 * 3 * 1), [2, 2, 3, 1]) as tf.Tensor4D;
    const up = upsample2x(x);
    expect(up.shape).toEqual([2, 4, 6, 1]);
    const u = up.arraySync() as number[][][][];
    expect(u[1][3][5][0]).toBe(11);
    expect(u[0][1][1][0]).toBe(0);
    const r = rand([2, 4, 6, 1], 7);
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(upsample2x(xi as tf.Tensor4D), r)))(x);
    const rv = r.arraySync() as number[][][][];
    const expected = rv.map((img) =>
      [0, 1].map((i) => [0, 1, 2].map((j) => [rv.length && img[2 * i][2 * j][0] + img[2 * i + 1][2 * j][0] + img[2 * i][2 * j + 1][0] + img[2 * i + 1][2 * j + 1][0]])),
    );
    expect(maxAbsDiff(dx, tf.tensor(expected))).toBeLessThan(1e-5);
  });

  it('upsample2x crops to a target size (7 -> 14 -> 13)', () => {
    const x = tf.ones([1, 7, 7, 2]) as tf.Tensor4D;
    expect(upsample2x(x, 13, 13).shape).toEqual([1, 13, 13, 2]);
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(upsample2x(xi as tf.Tensor4D, 13, 13)))(x);
    const d = dx.arraySync() as number[][][][];
    expect(d[0][0][0][0]).toBe(4);
    expect(d[0][6][6][0]).toBe(1);
  });
});
