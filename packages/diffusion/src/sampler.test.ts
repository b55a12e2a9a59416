import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { resolveModelConfig } from './config';
import { createModel, type DiffusionModel } from './model';
import { sample } from './sampler';

describe('samplers', () => {
  let model: DiffusionModel;
  let cond: DiffusionModel;
  const schedule = { kind: 'cosine' as const, steps: 100 };

  // Random (not zero) output convolutions, so samples depend on the network.
  function randomised(m: DiffusionModel): DiffusionModel {
    const w = m.getWeights();
    for (let i = 0; i < w.length; i++) if (w[i] === 0) w[i] = Math.sin(i * 12.9898) * 0.05;
    m.setWeights(w);
    return m;
  }

  beforeAll(async () => {
    await initBackend('wasm');
    model = randomised(createModel(resolveModelConfig('tiny', { imageSize: 14, channels: 1 }), 5));
    cond = randomised(createModel(resolveModelConfig('tiny', { imageSize: 14, channels: 1, numClasses: 3 }), 6));
  });
  afterAll(() => {
    model.dispose();
    cond.dispose();
  });

  for (const sampler of ['ddpm', 'ddim'] as const) {
    it(`${sampler}: NHWC in [0,1], deterministic by seed, no tensor leak`, async () => {
      const before = tf.memory().numTensors;
      const a = await sample(model, { count: 3, sampler, steps: 8, seed: 1, schedule });
      expect(tf.memory().numTensors).toBe(before);
      expect(a.length).toBe(3 * 14 * 14);
      let min = Infinity;
      let max = -Infinity;
      for (const v of a) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThanOrEqual(1);
      expect(max - min).toBeGreaterThan(0.05);
      const b = await sample(model, { count: 3, sampler, steps: 8, seed: 1, schedule });
      const c = await sample(model, { count: 3, sampler, steps: 8, seed: 2, schedule });
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
    });
  }

  it('ddpm and ddim differ from the same seed (ddpm adds noise on the way)', async () => {
    const a = await sample(model, { count: 2, sampler: 'ddpm', steps: 6, seed: 3, schedule });
    const b = await sample(model, { count: 2, sampler: 'ddim', steps: 6, seed: 3, schedule });
    expect(b).not.toEqual(a);
  });

  it('class-conditional sampling with classifier-free guidance', async () => {
    const labels = Int32Array.from([0, 2]);
    const plain = await sample(cond, { count: 2, sampler: 'ddim', steps: 5, seed: 4, schedule, labels });
    const guided = await sample(cond, { count: 2, sampler: 'ddim', steps: 5, seed: 4, schedule, labels, guidance: 2 });
    const other = await sample(cond, { count: 2, sampler: 'ddim', steps: 5, seed: 4, schedule, labels: Int32Array.from([1, 1]) });
    expect(guided.length).toBe(2 * 14 * 14);
    expect(guided).not.toEqual(plain);
    expect(other).not.toEqual(plain);
    await expect(sample(cond, { count: 2, sampler: 'ddim', steps: 5, seed: 4, schedule, labels: Int32Array.from([1]) })).rejects.toThrow(/labels/);
  });
});
