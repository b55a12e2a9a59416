import { decodeUpdate, encodeUpdate, frameBytes, loraBlocks, loraDelta, mergeFedIt, mergeFfaLora, sharedA, type LoraMethod } from '@fedbit/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { resolveModelConfig } from './config';
import { attachLora, type LoraModel } from './lora';
import { loraLayout, resolveLoraConfig } from './lora-config';
import { createModel, modelLayout, type DiffusionModel } from './model';
import { normal } from './rng';
import { createTrainer } from './trainer';
import { squares } from './test-squares';

const SIZE = 16;
const cfg = resolveModelConfig('tiny', { imageSize: SIZE, channels: 1 });


function randomVector(length: number, seed: number, std = 1): Float32Array {
  const gen = normal(seed);
  return Float32Array.from({ length }, () => gen() * std);
}

/** The noise prediction on a fixed input, as numbers. */
function predict(model: Pick<DiffusionModel, 'predictNoise'>, trainBits?: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomVector(2 * SIZE * SIZE, 5), [2, SIZE, SIZE, 1]);
    return model.predictNoise(x, [10, 700], undefined, { trainBits }).dataSync() as Float32Array;
  });
}

const maxAbs = (x: ArrayLike<number>) => Array.from(x).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('LoRA adapters on the U-Net (wasm)', () => {
  let base: DiffusionModel;

  beforeAll(async () => {
    await initBackend('wasm');
    base = createModel(cfg, 11);
    // a base whose every layer matters (a fresh model's zero-initialised convolutions would hide adapters on them)
    base.setWeights(base.getWeights().map((v, i) => v + 0.05 * Math.sin(i)));
  });
  afterAll(() => base.dispose());

  it('refuses a bad config, naming the field and what was expected', () => {
    expect(() => resolveLoraConfig({ rank: 0, seed: 1 })).toThrow(/rank must be an integer >= 1, got 0/);
    expect(() => resolveLoraConfig({ rank: 2.5, seed: 1 })).toThrow(/rank must be an integer >= 1, got 2.5/);
    expect(() => resolveLoraConfig({ rank: 4, seed: 1, alpha: -1 })).toThrow(/alpha must be a finite number > 0/);
    expect(() => resolveLoraConfig({ rank: 4, seed: 1, targets: [] })).toThrow(/targets must be a non-empty array/);
    expect(() => resolveLoraConfig({ rank: 4, seed: 1, method: 'lora' as LoraMethod })).toThrow(/method must be one of ffa-lora, fedit, got 'lora'/);
    expect(() => resolveLoraConfig({ rank: 4, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => resolveLoraConfig({ rank: 4, seed: 1, baseBits: 0 })).toThrow(/baseBits must be an integer in 1..32/);
    expect(() => loraLayout(cfg, { rank: 4, seed: 1, targets: ['conv', 'attn*'] })).toThrow(/LoRA target 'attn\*' matches no layer: expected 'conv', 'dense' or a pattern/);
    // the label table is not a dense layer's kernel
    expect(() => loraLayout(resolveModelConfig('tiny', { imageSize: SIZE, channels: 1, numClasses: 10 }), { rank: 4, seed: 1, targets: ['label.*'] })).toThrow(/matches no layer/);
  });

  it('targets layer kinds or name patterns, capping the rank at a layer\'s narrow side', () => {
    const all = loraLayout(cfg, { rank: 4, seed: 1 });
    const kernels = modelLayout(cfg).entries.filter((e) => e.name.endsWith('.kernel'));
    expect(all.adapters.map((a) => `${a.name}.kernel`)).toEqual(kernels.map((e) => e.name));
    const conv = loraLayout(cfg, { rank: 4, seed: 1, targets: ['conv'] });
    expect(conv.adapters.length).toBe(kernels.filter((e) => e.shape.length === 4).length);
    const inConv = conv.adapters.find((a) => a.name === 'in.conv')!;
    expect([inConv.fanIn, inConv.fanOut, inConv.rank]).toEqual([9, 12, 4]); // 3x3x1 -> 12 as a 9 x 12 matrix
    const out = conv.adapters.find((a) => a.name === 'out.conv')!;
    expect([out.fanIn, out.fanOut, out.rank, out.scale]).toEqual([108, 1, 1, 4]); // alpha 4 / rank 1
    const picked = loraLayout(cfg, { rank: 4, seed: 1, targets: ['mid.*', 'time.dense2'] });
    expect(picked.adapters.map((a) => a.name)).toEqual(['time.dense2', 'mid.res0.conv1', 'mid.res0.emb', 'mid.res0.conv2']);
  });

  for (const baseBits of [32, 8]) {
    it(`with B = 0 gives exactly the base's output (base at ${baseBits} bits)`, () => {
      const lora = attachLora(base, { rank: 4, seed: 3, baseBits });
      // an 8-bit base is exactly the base run with 8-bit weights
      const expected = predict(base, baseBits);
      expect(predict(lora)).toEqual(expected);
      if (baseBits === 32) expect(lora.effectiveWeights()).toEqual(base.getWeights());
      lora.setAdapters(randomVector(lora.paramCount, 4, 0.1));
      expect(maxAbs(predict(lora).map((v, i) => v - expected[i]))).toBeGreaterThan(1e-3);
      lora.dispose();
    });
  }

  it('keeps its frozen copy of the base when the base is later given other weights', () => {
    const other = createModel(cfg, 12);
    const original = other.getWeights();
    const lora = attachLora(other, { rank: 2, seed: 3, baseBits: 32 });
    other.setWeights(original.map((v) => v + 1));
    expect(lora.effectiveWeights()).toEqual(original);
    lora.dispose();
    expect(other.getWeights()[0]).toBe(Math.fround(original[0] + 1)); // the base is the caller's, left alone
    other.dispose();
  });

  it("merges W + (alpha/r) (B A)^T into each kernel, as core's loraDelta computes it", () => {
    const lora = attachLora(base, { rank: 4, seed: 3, baseBits: 32, method: 'fedit', alpha: 8 });
    const vector = randomVector(lora.paramCount, 6, 0.2);
    lora.setAdapters(vector);
    expect(lora.getAdapters()).toEqual(vector);
    const { a, b } = loraBlocks(lora.layout, vector);
    const eff = lora.effectiveWeights();
    const w0 = base.getWeights();
    for (const ad of lora.layout.adapters) {
      const e = base.layout.entries.find((x) => x.name === `${ad.name}.kernel`)!;
      const d = loraDelta(ad, a, b);
      const got = eff.subarray(e.offset, e.offset + e.size).map((v, i) => v - w0[e.offset + i]);
      expect(maxAbs(got.map((v, i) => v - d[i]))).toBeLessThan(1e-5 * (1 + maxAbs(d)));
    }
    expect(() => lora.setAdapters(new Float32Array(lora.paramCount - 1))).toThrow(
      new RegExp(`setAdapters expects a Float32Array of ${lora.paramCount} values \\(the fedit adapter vector .*got ${lora.paramCount - 1}`),
    );
    lora.dispose();
  });

  it('FFA-LoRA trains B only: base and A bit for bit unchanged, the loss falls, no tensor leaks', async () => {
    const start = tf.memory().numTensors;
    const baseBefore = base.getWeights();
    const lora = attachLora(base, { rank: 4, seed: 3 });
    expect(tf.memory().numTensors - start).toBe(lora.tensorCount);
    const effBefore = lora.effectiveWeights();
    const trainer = createTrainer(lora, { learningRate: 1e-2, batchSize: 8, schedule: { kind: 'cosine', steps: 200 }, seed: 1 });
    const images = squares(8);
    const losses: number[] = [];
    let at2 = 0;
    for (let i = 1; i <= 30; i++) {
      losses.push(await trainer.step({ images, count: 8 }));
      if (i === 2) at2 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(at2);
    expect(mean(losses.slice(-5))).toBeLessThan(0.8 * mean(losses.slice(0, 5)));
    expect(base.getWeights()).toEqual(baseBefore);
    expect(lora.getAdapters().some((v) => v !== 0)).toBe(true);
    // only adapted kernels moved, by exactly their delta with the shared A
    const effAfter = lora.effectiveWeights();
    const { a, b } = loraBlocks(lora.layout, lora.getAdapters(), sharedA(lora.layout, 3));
    for (const e of base.layout.entries) {
      const ad = lora.layout.adapters.find((x) => `${x.name}.kernel` === e.name);
      const moved = effAfter.subarray(e.offset, e.offset + e.size).map((v, i) => v - effBefore[e.offset + i]);
      if (!ad) expect(maxAbs(moved)).toBe(0);
      else {
        const d = loraDelta(ad, a, b);
        expect(maxAbs(moved.map((v, i) => v - d[i]))).toBeLessThan(1e-5 * (1 + maxAbs(d)));
      }
    }
    trainer.dispose();
    lora.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('FedIT trains A and B; the base stays bit for bit', async () => {
    const baseBefore = base.getWeights();
    const lora = attachLora(base, { rank: 4, seed: 3, method: 'fedit' });
    const a0 = lora.getAdapters().subarray(0, lora.layout.aLength).slice();
    expect(a0).toEqual(sharedA(lora.layout, 3));
    const trainer = createTrainer(lora, { learningRate: 1e-2, batchSize: 4, schedule: { kind: 'cosine', steps: 200 }, seed: 2 });
    for (let i = 0; i < 3; i++) await trainer.step({ images: squares(4), count: 4 });
    const after = lora.getAdapters();
    expect(after.subarray(0, lora.layout.aLength)).not.toEqual(a0);
    expect(after.subarray(lora.layout.bStart).some((v) => v !== 0)).toBe(true);
    expect(base.getWeights()).toEqual(baseBefore);
    trainer.dispose();
    lora.dispose();
  });

  it('the adapter vector round-trips through the update codec at 32 bits exactly and at 8 bits within a step', async () => {
    const lora = attachLora(base, { rank: 4, seed: 3 });
    const vector = randomVector(lora.paramCount, 8, 0.05);
    lora.setAdapters(vector);
    const read = await lora.readAdapters();
    expect(read).toEqual(vector);
    lora.setAdapters(decodeUpdate(encodeUpdate(read, { bits: 32, round: 3 }), { length: lora.paramCount }));
    expect(lora.getAdapters()).toEqual(vector);
    const blockSize = 512;
    const decoded = decodeUpdate(encodeUpdate(vector, { bits: 8, round: 3, seed: 1, blockSize }), { length: lora.paramCount });
    for (let start = 0; start < vector.length; start += blockSize) {
      const block = vector.subarray(start, start + blockSize);
      const step = (2 * maxAbs(block)) / 255; // the 8-bit grid's spacing in this block
      const err = maxAbs(block.map((v, i) => v - decoded[start + i]));
      expect(err).toBeLessThanOrEqual(step * (1 + 1e-6));
    }
    lora.setAdapters(decoded);
    expect(lora.getAdapters()).toEqual(decoded);
    lora.dispose();
  });

  /** Two devices train from the same global adapters on different images; the server merges. */
  async function twoDevices(method: LoraMethod): Promise<{ devices: LoraModel[]; vectors: Float32Array[]; effective: Float32Array[] }> {
    const devices = [0, 1].map(() => attachLora(base, { rank: 4, seed: 3, method, baseBits: 32 }));
    const vectors: Float32Array[] = [];
    for (const [k, lora] of devices.entries()) {
      const trainer = createTrainer(lora, { learningRate: 2e-2, batchSize: 4, schedule: { kind: 'cosine', steps: 200 }, seed: 10 + k });
      for (let i = 0; i < 3; i++) await trainer.step({ images: squares(4, 4 * k), count: 4 });
      trainer.dispose();
      vectors.push(lora.getAdapters());
    }
    return { devices, vectors, effective: devices.map((d) => d.effectiveWeights()) };
  }

  it("FFA-LoRA's merge gives exactly the weighted mean of the devices' models; FedIT's does not", async () => {
    const weights = [1, 3];
    const gapOf = async (method: LoraMethod) => {
      const { devices, vectors, effective } = await twoDevices(method);
      const merged = devices[0];
      merged.setAdapters(method === 'ffa-lora' ? mergeFfaLora(merged.layout, vectors, weights) : mergeFedIt(merged.layout, vectors, weights));
      const got = merged.effectiveWeights();
      const want = effective[0].map((v, i) => (weights[0] * v + weights[1] * effective[1][i]) / 4);
      // against what the adapters moved, which is what the merge is about
      const spread = maxAbs(effective[0].map((v, i) => v - effective[1][i]));
      const gap = maxAbs(got.map((v, i) => v - want[i])) / spread;
      for (const d of devices) d.dispose();
      return gap;
    };
    const ffa = await gapOf('ffa-lora');
    const fedit = await gapOf('fedit');
    console.log(`merged model vs the weighted mean of the 2 devices' models, relative to their spread: FFA-LoRA ${ffa.toExponential(2)}, FedIT ${fedit.toExponential(2)}`);
    expect(ffa).toBeLessThan(1e-5);
    expect(fedit).toBeGreaterThan(1e-3);
  });

  it('uploads at least 20x fewer parameters than the full model at rank 4 (FFA-LoRA)', () => {
    const rows: string[] = [];
    for (const [label, model] of [
      ['tiny 16x16x1', cfg],
      ['default 28x28x1', resolveModelConfig('default', { imageSize: 28, channels: 1 })],
    ] as const) {
      const full = modelLayout(model).total;
      const ffa = loraLayout(model, { rank: 4, seed: 1 }).trainableLength;
      const fedit = loraLayout(model, { rank: 4, seed: 1, method: 'fedit' }).trainableLength;
      const bytes = (n: number) => frameBytes(8, n);
      rows.push(
        `${label}: full ${full}, FFA-LoRA ${ffa} (${(full / ffa).toFixed(1)}x fewer; 8-bit frame ${bytes(full)} vs ${bytes(ffa)} bytes), FedIT ${fedit} (${(full / fedit).toFixed(1)}x fewer)`,
      );
      expect(bytes(full) / bytes(ffa)).toBeGreaterThanOrEqual(20);
    }
    console.log(`rank-4 adapters on every conv and dense layer:\n  ${rows.join('\n  ')}`);
  });
});
