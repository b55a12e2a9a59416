// Streaming weighted FedAvg (McMahan et al., arXiv 1602.05629) over encoded update frames: each
// frame is decoded straight into one float64 running sum, with no dequantized copy, so the server
// holds one accumulator however many devices report. Float64 because a float32 sum drifts by about
// count * 2^-24 relative, beyond the 1e-6 the aggregate must meet once dozens of devices report;
// the benchmark (apps/cli/src/bench/codec.ts) shows the wider element costs next to nothing.
//
// A refused frame changes nothing: inspectFrame checks header, size, checksum and every scale or
// value (and computes the norm for clipping) before the one pass that writes.
import { inspectFrame } from '../quant/codec';
import type { FrameHeader } from '../quant/frame';
import { clipFactor } from './clip';
import { jsMergeKernel, type MergeKernel, type RunningSum } from './kernel';
import { assertWeight } from './weight';

export interface StreamingAggregatorOptions {
  /** Scale each update to at most this L2 norm before adding it; omit for no clipping. */
  clipNorm?: number;
  /** Refuse frames for any other round (FrameError field 'round'). */
  expectRound?: number;
  /** Where the sum lives and how frames are added to it; default the JavaScript kernel. */
  kernel?: MergeKernel;
}

/** What add() did with a frame. */
export interface AddedUpdate {
  header: FrameHeader;
  weight: number;
  /** The L2 norm of the decoded update; only computed when clipping. */
  norm: number | undefined;
  /** The factor clipping applied (1 when not clipped). */
  clipFactor: number;
}

export class StreamingAggregator {
  private readonly sum: RunningSum;
  private readonly kernel: MergeKernel;
  private added = 0;
  private weightSum = 0;
  private readonly clipNorm: number | undefined;
  private readonly expectRound: number | undefined;

  constructor(
    readonly length: number,
    opts: StreamingAggregatorOptions = {},
  ) {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be an integer >= 0, got ${length}`);
    if (opts.clipNorm !== undefined && !(opts.clipNorm > 0 && Number.isFinite(opts.clipNorm))) {
      throw new RangeError(`clipNorm must be a finite number > 0, got ${opts.clipNorm}`);
    }
    this.kernel = opts.kernel ?? jsMergeKernel;
    this.sum = this.kernel.createSum(length);
    this.clipNorm = opts.clipNorm;
    this.expectRound = opts.expectRound;
  }

  /** Updates added since construction or the last reset. */
  get count(): number {
    return this.added;
  }

  /** Sum of the weights of the updates added. */
  get totalWeight(): number {
    return this.weightSum;
  }

  /**
   * Adds weight * scale * (clipped) update to the sum and `weight` to the total weight, so a scale
   * below 1 shrinks an update without changing how much the others count (FedBuff's staleness
   * discount, FedNova's step normalisation). Throws FrameError for a malformed frame and RangeError
   * for a bad weight or scale; in every case the aggregator is unchanged.
   */
  add(frame: Uint8Array, weight: number, scale = 1): AddedUpdate {
    assertWeight(weight);
    if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`update scale ${scale} refused: expected a finite number > 0`);
    const clip = this.clipNorm;
    const checked = inspectFrame(frame, { length: this.length, round: this.expectRound }, { normSq: clip !== undefined });
    const factor = clip !== undefined ? clipFactor(checked.normSq!, clip) : 1;
    this.sum.add(checked, weight * scale * factor);
    this.added++;
    this.weightSum += weight;
    return {
      header: checked.header,
      weight,
      norm: clip !== undefined ? Math.sqrt(checked.normSq!) : undefined,
      clipFactor: factor,
    };
  }

  /** The weighted mean sum_k w_k u_k / sum_k w_k as float32. Throws if nothing was added. */
  finish(): Float32Array {
    if (this.added === 0) throw new Error('no update was added, so there is no mean to take; check the quorum before finishing a round');
    const out = new Float32Array(this.length);
    const inv = 1 / this.weightSum;
    const s = this.sum.values;
    for (let i = 0; i < out.length; i++) out[i] = s[i] * inv;
    return out;
  }

  /** The running sum (a view: copy it before adding more), the weights and the count. */
  partial(): { sum: Float64Array; weight: number; count: number } {
    return { sum: this.sum.values, weight: this.weightSum, count: this.added };
  }

  /** Adds another node's running sum of the same length; the caller has checked its values. */
  addPartial(sum: Float64Array, weight: number, count: number): void {
    if (sum.length !== this.length) throw new RangeError(`partial sum of ${sum.length} values; this sum has ${this.length}`);
    assertWeight(weight);
    const values = this.sum.values;
    for (let i = 0; i < values.length; i++) values[i] += sum[i];
    this.weightSum += weight;
    this.added += count;
  }

  describe(): Record<string, unknown> {
    return { clipNorm: this.clipNorm ?? null, accumulator: 'float64', kernel: this.kernel.name };
  }

  reset(): void {
    this.sum.reset();
    this.added = 0;
    this.weightSum = 0;
  }
}
