// The straightforward aggregation path, kept as the benchmark's baseline and a test reference:
// decode each frame to a float32 array, then add it to a float64 sum. Same checks and results as
// StreamingAggregator (without clipping), one full-size temporary array per update more.
import { decodeUpdate } from '../quant/codec';
import { assertWeight } from './weight';

export class NaiveAggregator {
  private readonly sum: Float64Array;
  private weightSum = 0;
  count = 0;

  constructor(readonly length: number) {
    this.sum = new Float64Array(length);
  }

  get totalWeight(): number {
    return this.weightSum;
  }

  add(frame: Uint8Array, weight: number): void {
    assertWeight(weight);
    const x = decodeUpdate(frame, { length: this.length });
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i] += weight * x[i];
    this.count++;
    this.weightSum += weight;
  }

  finish(): Float32Array {
    if (this.count === 0) throw new Error('no update was added, so there is no mean to take');
    const out = new Float32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i] / this.weightSum;
    return out;
  }
}
