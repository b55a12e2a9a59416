import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { groupNorm, silu, type NormConstants } from './norm';

function det(shape: number[], seed: number, scale = 0.9, offset = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => offset + Math.sin((i + 1) * 12.9898 + seed * 78.233) * scale), shape);
}

async function maxRelDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
  const scale = Math.max(...y.map(Math.abs));
  return Math.max(...x.map((v, i) => Math.abs(v - y[i]))) / scale;
}

describe('closed-form GroupNorm and SiLU gradients (the oracle: tfjs autodiff of the same forward ops)', () => {
  let c: NormConstants;
  beforeAll(async () => {
    await initBackend('wasm');
    c = { eps: tf.scalar(1e-5), one: tf.scalar(1) };
  });

  for (const [shape, groups] of [
    [[2, 4, 4, 8], 4],
    [[3, 5, 3, 6], 2],
    [[1, 2, 2, 4], 4],
  ] as const) {
    it(`groupNorm ${JSON.stringify(shape)} in ${groups} groups: same values, gradients to 1e-5`, async () => {
      const x = det([...shape], 1, 2, 0.3) as tf.Tensor4D;
      const gamma = det([shape[3]], 2, 0.5, 1);
      const beta = det([shape[3]], 3);
      const r = det([...shape], 4);
      const run = (mode: 'custom' | 'builtin') => {
        const y = groupNorm(x, gamma, beta, groups, c, mode);
        const grads = tf.grads((xi, gi, bi) => tf.sum(tf.mul(groupNorm(xi as tf.Tensor4D, gi, bi, groups, c, mode), r)))([x, gamma, beta]);
        return [y, ...grads];
      };
      const custom = run('custom');
      const builtin = run('builtin');
      expect(await maxRelDiff(custom[0], builtin[0])).toBe(0);
      for (let k = 1; k < 4; k++) expect(await maxRelDiff(custom[k], builtin[k])).toBeLessThan(1e-5);
      // the input gradient is not trivially zero (a normalisation's gradient sums to zero per group)
      expect(Math.max(...((await custom[1].data()) as Float32Array).map(Math.abs))).toBeGreaterThan(0.05);
      tf.dispose([x, gamma, beta, r, ...custom, ...builtin]);
    });
  }

  it('silu: same values, gradient to 1e-6', async () => {
    const x = det([4, 33], 5, 6);
    const r = det([4, 33], 6);
    const g = (mode: 'custom' | 'builtin') => tf.grad((xi) => tf.sum(tf.mul(silu(xi, c, mode), r)))(x);
    expect(await maxRelDiff(silu(x, c, 'custom'), silu(x, c, 'builtin'))).toBe(0);
    expect(await maxRelDiff(g('custom'), g('builtin'))).toBeLessThan(1e-6);
  });
});
