import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { fakeQuant, quantizeValue, roundHalf } from './quant';
import { normal, normalArray } from './rng';

const values = normalArray(4000, normal(11)).map((v, i) => v * (i % 7 === 0 ? 30 : 1));

describe('fake quantization', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('at 32 bits is exactly the identity and adds no tensor', () => {
    const x = tf.tensor(values);
    expect(fakeQuant(x, 32)).toBe(x);
    x.dispose();
  });

  for (const bits of [1, 2, 4, 8]) {
    it(`at ${bits} bits has at most ${bits === 1 ? 2 : 2 ** bits - 1} distinct values, symmetric, error <= scale/2`, () => {
      const x = tf.tensor(values);
      const q = quantizeValue(x, bits).dataSync();
      const distinct = new Set(Array.from(q));
      expect(distinct.size).toBeLessThanOrEqual(bits === 1 ? 2 : 2 ** bits - 1);
      if (bits <= 4) expect(distinct.size).toBeLessThanOrEqual(16);
      expect(distinct.size).toBeGreaterThan(1);
      if (bits > 1) {
        const maxAbs = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const scale = maxAbs / (2 ** (bits - 1) - 1);
        for (let i = 0; i < values.length; i++) expect(Math.abs(q[i] - values[i])).toBeLessThanOrEqual(scale / 2 + 1e-4 * maxAbs);
      }
      x.dispose();
    });
  }

  it('at 16 bits rounds to the nearest float16, like a JavaScript reference', () => {
    const special = [0, 1, -1, 2 ** -14, 2 ** -20, 3.14159, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 70000, -1e-7, 0.1];
    const all = Float32Array.from([...special, ...values.slice(0, 500)]);
    const q = quantizeValue(tf.tensor(all), 16).dataSync();
    for (let i = 0; i < all.length; i++) expect(q[i]).toBe(Math.fround(roundHalf(all[i])));
    expect(roundHalf(1 + 2 ** -11)).toBe(1); // a tie rounds to even
    expect(roundHalf(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundHalf(70000)).toBe(65504);
  });

  it('passes gradients straight through (STE)', () => {
    const x = tf.tensor(values.slice(0, 100));
    const r = tf.tensor(normalArray(100, normal(3)));
    const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(fakeQuant(xi, 4), r)))(x);
    expect(Array.from(g.dataSync())).toEqual(Array.from(r.dataSync()));
  });
});
