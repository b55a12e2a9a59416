import { describe, expect, it } from 'vitest';
import { Rng, normalFrom } from '../random';
import { encodeUpdate } from '../quant/codec';
import { GaussianNoiseAggregator } from './gaussian';
import { createAggregator } from './spec';

const N = 20_000;
const frame = (value: number) => encodeUpdate(new Float32Array(N).fill(value), { bits: 32, round: 1 });

describe('DP-FedAvg: clip, equal weights, Gaussian noise on the sum', () => {
  it('with no noise it is the equal-weight mean of the clipped updates', () => {
    const agg = new GaussianNoiseAggregator(createAggregator({ rule: 'fedavg' }, { length: N, clipNorm: 1 }), { clipNorm: 1, noiseMultiplier: 0, normal: () => 0 });
    agg.add(frame(0.001), 1000); // norm 0.14: kept
    agg.add(frame(1), 1); // norm 141: clipped to 1, i.e. 1/sqrt(N) per value
    const mean = agg.finish();
    expect(mean[0]).toBeCloseTo((0.001 + 1 / Math.sqrt(N)) / 2, 6);
  });

  it('adds noise of standard deviation sigma C / n per coordinate', () => {
    const uniform = new Rng(3);
    const agg = new GaussianNoiseAggregator(createAggregator({ rule: 'fedavg' }, { length: N, clipNorm: 2 }), { clipNorm: 2, noiseMultiplier: 1.5, normal: normalFrom(() => uniform.nextFloat()) });
    for (let k = 0; k < 4; k++) agg.add(frame(0), 1);
    const mean = agg.finish();
    let sq = 0;
    for (const v of mean) sq += v * v;
    const sd = Math.sqrt(sq / N);
    expect(sd).toBeGreaterThan(0.75 * 0.97);
    expect(sd).toBeLessThan(0.75 * 1.03); // 1.5 * 2 / 4
  });
});
