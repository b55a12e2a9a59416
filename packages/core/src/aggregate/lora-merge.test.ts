import { describe, expect, it } from 'vitest';
import { buildLoraLayout, loraBlocks, loraDelta, sharedA, type LoraAdapterShape, type LoraLayout } from '../lora/layout';
import { encodeUpdate } from '../quant/codec';
import { mulberry32, normalFrom } from '../random/index';
import { mergeFedIt } from './fedit';
import { mergeFfaLora } from './ffa-lora';
import { createAggregator } from './spec';

const SHAPES: LoraAdapterShape[] = [
  { name: 'in.conv', fanIn: 27, fanOut: 8, rank: 4, scale: 0.25 },
  { name: 'time.dense1', fanIn: 16, fanOut: 16, rank: 4, scale: 0.25 },
  { name: 'out.conv', fanIn: 72, fanOut: 1, rank: 1, scale: 1 },
];
const WEIGHTS = [1, 2, 5];

function randomVector(length: number, seed: number): Float32Array {
  const gen = normalFrom(mulberry32(seed));
  return Float32Array.from({ length }, () => gen());
}

/** Every adapter's dW, concatenated: what the adapters add to the model's weights. */
function deltas(layout: LoraLayout, trainable: Float32Array, a?: Float32Array): Float32Array[] {
  const blocks = loraBlocks(layout, trainable, a);
  return layout.adapters.map((ad) => loraDelta(ad, blocks.a, blocks.b));
}

function weightedMeanOf(arrays: Float32Array[], weights: number[]): Float64Array {
  const total = weights.reduce((s, w) => s + w, 0);
  const out = new Float64Array(arrays[0].length);
  arrays.forEach((x, k) => x.forEach((v, i) => (out[i] += (weights[k] / total) * v)));
  return out;
}

/** max |x - y| / max |y| over every adapter. */
function relativeGap(x: Float32Array[], y: Float64Array[]): number {
  let diff = 0;
  let scale = 0;
  x.forEach((xa, j) =>
    xa.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - y[j][i]));
      scale = Math.max(scale, Math.abs(y[j][i]));
    }),
  );
  return diff / scale;
}

describe('FFA-LoRA merge', () => {
  const layout = buildLoraLayout(SHAPES, 'ffa-lora');
  const a = sharedA(layout, 7);
  const devices = WEIGHTS.map((_, k) => randomVector(layout.trainableLength, 100 + k));

  it("is exact: the merged adapters' weights are the weighted mean of the devices' to float precision", () => {
    const merged = deltas(layout, mergeFfaLora(layout, devices, WEIGHTS), a);
    const perDevice = devices.map((b) => deltas(layout, b, a));
    const expected = layout.adapters.map((_, j) => weightedMeanOf(perDevice.map((d) => d[j]), WEIGHTS));
    expect(relativeGap(merged, expected)).toBeLessThan(1e-6);
  });

  it('is what the streaming fedavg rule computes from 32-bit frames of the B deltas', () => {
    const global = randomVector(layout.trainableLength, 99);
    const agg = createAggregator({ rule: 'fedavg' }, { length: layout.trainableLength });
    devices.forEach((b, k) => {
      const delta = b.map((v, i) => v - global[i]);
      agg.add(encodeUpdate(delta, { bits: 32, round: 1 }), WEIGHTS[k]);
    });
    const mean = agg.finish();
    const streamed = global.map((v, i) => v + mean[i]);
    const direct = mergeFfaLora(layout, devices, WEIGHTS);
    for (let i = 0; i < direct.length; i++) expect(Math.abs(streamed[i] - direct[i])).toBeLessThan(1e-5 * (1 + Math.abs(direct[i])));
  });

  it('refuses a FedIT layout, a vector of the wrong length and a bad weight', () => {
    expect(() => mergeFfaLora(buildLoraLayout(SHAPES, 'fedit'), devices, WEIGHTS)).toThrow(/needs an 'ffa-lora' layout/);
    expect(() => mergeFfaLora(layout, [devices[0], devices[1].subarray(1)], [1, 1])).toThrow(/vectors 1 has 96 values, expected 97/);
    expect(() => mergeFfaLora(layout, devices, [1, 2])).toThrow(/3 FFA-LoRA B vectors but 2 weights/);
    expect(() => mergeFfaLora(layout, devices, [1, 0, 1])).toThrow(/weight 0 refused/);
    expect(() => mergeFfaLora(layout, [], [])).toThrow(/at least one/);
  });
});

describe('FedIT merge', () => {
  it('is not exact: two devices with A = (1, 0), B = (0, 1) each add 0, the merge adds 0.25', () => {
    const layout = buildLoraLayout([{ name: 'l', fanIn: 1, fanOut: 1, rank: 1, scale: 1 }], 'fedit');
    const devices = [Float32Array.from([1, 0]), Float32Array.from([0, 1])]; // [A | B]
    for (const d of devices) expect(deltas(layout, d)[0][0]).toBe(0);
    const merged = mergeFedIt(layout, devices, [1, 1]);
    expect(Array.from(merged)).toEqual([0.5, 0.5]);
    expect(deltas(layout, merged)[0][0]).toBe(0.25);
  });

  it("misses the weighted mean of the devices' weights by far more than float precision in general", () => {
    const layout = buildLoraLayout(SHAPES, 'fedit');
    const devices = WEIGHTS.map((_, k) => randomVector(layout.trainableLength, 200 + k));
    const merged = deltas(layout, mergeFedIt(layout, devices, WEIGHTS));
    const perDevice = devices.map((v) => deltas(layout, v));
    const expected = layout.adapters.map((_, j) => weightedMeanOf(perDevice.map((d) => d[j]), WEIGHTS));
    const gap = relativeGap(merged, expected);
    console.log(`FedIT merge vs the weighted mean of the devices' adapter weights: relative gap ${gap.toFixed(3)} (FFA-LoRA: < 1e-6)`);
    expect(gap).toBeGreaterThan(0.1);
  });

  it('refuses an FFA-LoRA layout', () => {
    const layout = buildLoraLayout(SHAPES, 'ffa-lora');
    expect(() => mergeFedIt(layout, [new Float32Array(layout.trainableLength)], [1])).toThrow(/needs a 'fedit' layout/);
  });
});
