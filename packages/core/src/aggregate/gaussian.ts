// Client-level differential privacy with central Gaussian noise, DP-FedAvg (McMahan, Ramage,
// Talwar, Zhang, "Learning Differentially Private Recurrent Language Models", ICLR 2018, arXiv
// 1710.06963): every update is clipped to L2 norm C, the clipped updates are summed with equal
// weight (so one device can change the sum by at most C), Gaussian noise of standard deviation
// sigma * C is added to the sum, and the noisy sum is divided by the number of updates. The privacy
// this buys per round is accounted in ../privacy/rdp.ts. The noise comes from a seeded source the
// caller gives (the aggregator seeds it from the OS, or from the run's seed in reproducible runs).
import type { Aggregator, UpdateInfo } from './aggregator';
import type { AddedUpdate } from './streaming';

export interface GaussianNoiseOptions {
  /** The clip norm C every update was clipped to by the wrapped rule; the noise scales with it. */
  clipNorm: number;
  /** sigma: noise standard deviation in units of C. */
  noiseMultiplier: number;
  /** Standard normal draws. */
  normal: () => number;
}

export class GaussianNoiseAggregator implements Aggregator {
  constructor(
    private readonly inner: Aggregator,
    private readonly options: GaussianNoiseOptions,
  ) {
    if (!(options.clipNorm > 0 && Number.isFinite(options.clipNorm))) throw new RangeError(`clipNorm ${options.clipNorm} must be a finite number > 0`);
    if (!(options.noiseMultiplier >= 0 && Number.isFinite(options.noiseMultiplier))) throw new RangeError(`noiseMultiplier ${options.noiseMultiplier} must be >= 0`);
  }

  get rule(): string {
    return this.inner.rule;
  }
  get length(): number {
    return this.inner.length;
  }
  get count(): number {
    return this.inner.count;
  }
  get totalWeight(): number {
    return this.inner.totalWeight;
  }

  /** Every update counts once, whatever its weight: a device's influence must not depend on what it claims. */
  add(frame: Uint8Array, _weight: number, info?: UpdateInfo): AddedUpdate {
    return this.inner.add(frame, 1, info);
  }

  /** The mean of the clipped updates plus N(0, (sigma C / n)^2) per coordinate. */
  finish(): Float32Array {
    const mean = this.inner.finish();
    const sd = (this.options.noiseMultiplier * this.options.clipNorm) / this.inner.count;
    for (let i = 0; i < mean.length; i++) mean[i] += sd * this.options.normal();
    return mean;
  }

  reset(): void {
    this.inner.reset();
  }

  describe(): Record<string, unknown> {
    return { ...this.inner.describe(), dp: { clipNorm: this.options.clipNorm, noiseMultiplier: this.options.noiseMultiplier, weights: 'equal' } };
  }
}
