// The weighted-mean rules over the streaming float64 sum (./streaming.ts): FedAvg (McMahan et al.,
// arXiv 1602.05629) and FedNova (./fednova.ts), each with FedBuff's staleness discount
// (./staleness.ts) for updates trained from an older model version. Pure arithmetic on one pass
// per update; the round decides the weights, steps and staleness.
import type { Aggregator, PartialSum, UpdateInfo } from './aggregator';
import { fedNovaEffectiveSteps, fedNovaScale } from './fednova';
import { stalenessDiscount } from './staleness';
import type { MergeKernel } from './kernel';
import { StreamingAggregator, type AddedUpdate } from './streaming';

export interface WeightedMeanOptions {
  length: number;
  /** FedNova: normalise each update by its local steps. */
  normalizeSteps: boolean;
  stalenessExponent: number;
  clipNorm?: number | null;
  /** Where the running sum lives; default the JavaScript kernel. */
  kernel?: MergeKernel;
}

export class WeightedMeanAggregator implements Aggregator {
  readonly rule: 'fedavg' | 'fednova';
  private readonly sum: StreamingAggregator;
  private weightedSteps = 0;

  constructor(private readonly options: WeightedMeanOptions) {
    this.rule = options.normalizeSteps ? 'fednova' : 'fedavg';
    this.sum = new StreamingAggregator(options.length, { ...(options.clipNorm ? { clipNorm: options.clipNorm } : {}), kernel: options.kernel });
  }

  get length(): number {
    return this.sum.length;
  }
  get count(): number {
    return this.sum.count;
  }
  get totalWeight(): number {
    return this.sum.totalWeight;
  }

  add(frame: Uint8Array, weight: number, info: UpdateInfo = {}): AddedUpdate {
    const steps = info.steps ?? 1;
    let scale = stalenessDiscount(info.staleness ?? 0, this.options.stalenessExponent);
    if (this.options.normalizeSteps) scale *= fedNovaScale(steps);
    const added = this.sum.add(frame, weight, scale); // throws before any change
    this.weightedSteps += weight * steps;
    return added;
  }

  finish(): Float32Array {
    const mean = this.sum.finish();
    if (this.options.normalizeSteps) {
      const tauEff = fedNovaEffectiveSteps(this.weightedSteps, this.sum.totalWeight);
      for (let i = 0; i < mean.length; i++) mean[i] *= tauEff;
    }
    return mean;
  }

  reset(): void {
    this.sum.reset();
    this.weightedSteps = 0;
  }

  partial(): PartialSum {
    return { ...this.sum.partial(), weightedSteps: this.weightedSteps };
  }

  addPartial(partial: PartialSum): void {
    this.sum.addPartial(partial.sum, partial.weight, partial.count);
    this.weightedSteps += partial.weightedSteps;
  }

  describe(): Record<string, unknown> {
    return { rule: this.rule, stalenessExponent: this.options.stalenessExponent, ...this.sum.describe() };
  }
}
