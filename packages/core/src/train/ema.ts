// Exponential moving average of model weights for sampling: the weights a diffusion model draws
// with are the EMA of its training iterates, not the last iterate (Ho et al., DDPM, arXiv
// 2006.11239, section 4, decay 0.9999; Nichol & Dhariwal, arXiv 2102.09672; Song & Ermon, arXiv
// 2006.09011, section 3.5, on why EMA removes the iterates' noise). The warm-up of the decay,
// min(decay, (1 + n) / (10 + n)), is TensorFlow's ExponentialMovingAverage with num_updates, so
// the first updates are not pulled towards the random initialisation.
//
// One rule for both sides: the central anchor averages every optimizer step, the aggregator
// averages the committed global model across versions.

export interface EmaOptions {
  /** Target decay in [0, 1); 0 = no averaging (the EMA is the last value). */
  decay: number;
  /** Apply the (1 + n) / (10 + n) warm-up of the decay (default true). */
  warmup?: boolean;
}

export function checkEmaDecay(decay: number): void {
  if (!(Number.isFinite(decay) && decay >= 0 && decay < 1)) {
    throw new Error(`EMA decay must be a number in [0, 1), got ${String(decay)}`);
  }
}

/** The decay applied at update number n (0-based) under the warm-up. */
export function emaDecayAt(decay: number, n: number, warmup = true): number {
  return warmup ? Math.min(decay, (1 + n) / (10 + n)) : decay;
}

export class WeightEma {
  readonly decay: number;
  readonly warmup: boolean;
  private avg: Float32Array | null = null;
  private n = 0;

  constructor(options: EmaOptions) {
    checkEmaDecay(options.decay);
    this.decay = options.decay;
    this.warmup = options.warmup ?? true;
  }

  /** Starts from saved state (a checkpoint): the averaged weights and the number of updates so far. */
  static restore(options: EmaOptions, weights: Float32Array, updates: number): WeightEma {
    if (!Number.isInteger(updates) || updates < 1) throw new Error(`EMA updates must be an integer >= 1, got ${updates}`);
    const ema = new WeightEma(options);
    ema.avg = Float32Array.from(weights);
    ema.n = updates;
    return ema;
  }

  /** Folds in the newest weights (copied; the caller keeps its array). */
  update(weights: Float32Array): void {
    if (this.avg === null) {
      this.avg = Float32Array.from(weights);
      this.n = 1;
      return;
    }
    if (weights.length !== this.avg.length) {
      throw new Error(`EMA update has ${weights.length} values; the average has ${this.avg.length}`);
    }
    const d = emaDecayAt(this.decay, this.n, this.warmup);
    const avg = this.avg;
    const c = 1 - d;
    for (let i = 0; i < avg.length; i++) avg[i] += c * (weights[i] - avg[i]);
    this.n++;
  }

  /** An independent copy (to update tentatively and keep only if a commit succeeds). */
  clone(): WeightEma {
    const copy = new WeightEma({ decay: this.decay, warmup: this.warmup });
    copy.avg = this.avg ? Float32Array.from(this.avg) : null;
    copy.n = this.n;
    return copy;
  }

  /** Number of updates folded in. */
  get updates(): number {
    return this.n;
  }

  /** The averaged weights (a view; copy before changing), or null before the first update. */
  get value(): Float32Array | null {
    return this.avg;
  }
}
