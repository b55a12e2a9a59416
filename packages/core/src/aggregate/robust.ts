// Byzantine-robust rules: the coordinate-wise median and the coordinate-wise trimmed mean (Yin,
// Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical
// Rates", ICML 2018, arXiv 1803.01498). For each parameter the round keeps the middle of what the
// devices sent, so a minority of devices cannot drag it anywhere. Unlike the weighted means
// (./rules.ts) these need every update at once: the aggregator keeps each one decoded as float32
// (devices x parameters x 4 bytes), after the same checks, clipping and staleness discount. Device
// weights do not enter the statistic (as in the paper); they still sum into totalWeight.
import { accumulateFrame, inspectFrame } from '../quant/codec';
import type { Aggregator, UpdateInfo } from './aggregator';
import { clipFactor } from './clip';
import { stalenessDiscount } from './staleness';
import type { AddedUpdate } from './streaming';
import { assertWeight } from './weight';

export interface RobustOptions {
  length: number;
  /** 'median', or 'trimmed-mean' dropping floor(trim * n) values at each end of each coordinate. */
  rule: 'median' | 'trimmed-mean';
  /** Trimmed mean only: the fraction cut from each end, 0 <= trim < 0.5. */
  trim: number;
  stalenessExponent: number;
  clipNorm?: number | null;
}

/** The median of the first n values of `column` (sorted in place). */
function median(column: Float64Array): number {
  column.sort();
  const n = column.length;
  const mid = n >> 1;
  return n % 2 === 1 ? column[mid] : (column[mid - 1] + column[mid]) / 2;
}

/** The mean of `column` without its `cut` smallest and `cut` largest values (sorted in place). */
function trimmedMean(column: Float64Array, cut: number): number {
  column.sort();
  let sum = 0;
  for (let i = cut; i < column.length - cut; i++) sum += column[i];
  return sum / (column.length - 2 * cut);
}

export class CoordinateRobustAggregator implements Aggregator {
  readonly rule: 'median' | 'trimmed-mean';
  private updates: Float32Array[] = [];
  private weightSum = 0;
  private readonly scratch: Float64Array;

  constructor(private readonly options: RobustOptions) {
    if (!(options.trim >= 0 && options.trim < 0.5)) throw new RangeError(`trim must be in [0, 0.5), got ${options.trim}`);
    this.rule = options.rule;
    this.scratch = new Float64Array(options.length);
  }

  get length(): number {
    return this.options.length;
  }
  get count(): number {
    return this.updates.length;
  }
  get totalWeight(): number {
    return this.weightSum;
  }

  add(frame: Uint8Array, weight: number, info: UpdateInfo = {}): AddedUpdate {
    assertWeight(weight);
    const clip = this.options.clipNorm ?? undefined;
    const checked = inspectFrame(frame, { length: this.length }, { normSq: clip !== undefined });
    const factor = clip !== undefined ? clipFactor(checked.normSq!, clip) : 1;
    const scale = stalenessDiscount(info.staleness ?? 0, this.options.stalenessExponent);
    this.scratch.fill(0);
    accumulateFrame(checked, this.scratch, factor * scale);
    this.updates.push(Float32Array.from(this.scratch));
    this.weightSum += weight;
    return { header: checked.header, weight, norm: clip !== undefined ? Math.sqrt(checked.normSq!) : undefined, clipFactor: factor };
  }

  /** How many values are cut from each end of each coordinate with n updates. */
  cutFor(n: number): number {
    return Math.min(Math.floor(this.options.trim * n), Math.floor((n - 1) / 2));
  }

  finish(): Float32Array {
    const n = this.updates.length;
    if (n === 0) throw new Error('no update was added, so there is nothing to aggregate; check the quorum before finishing a round');
    const out = new Float32Array(this.length);
    const column = new Float64Array(n);
    const cut = this.cutFor(n);
    for (let i = 0; i < out.length; i++) {
      for (let k = 0; k < n; k++) column[k] = this.updates[k][i];
      out[i] = this.rule === 'median' ? median(column) : trimmedMean(column, cut);
    }
    return out;
  }

  reset(): void {
    this.updates = [];
    this.weightSum = 0;
  }

  describe(): Record<string, unknown> {
    return { rule: this.rule, ...(this.rule === 'trimmed-mean' ? { trim: this.options.trim } : {}), stalenessExponent: this.options.stalenessExponent, clipNorm: this.options.clipNorm ?? null, accumulator: 'float32 per update' };
  }
}
