// Error feedback (Seide et al., "1-bit stochastic gradient descent and its application to
// data-parallel distributed training of speech DNNs", Interspeech 2014; Karimireddy et al., "Error
// Feedback Fixes SignSGD and other Gradient Compression Schemes", ICML 2019, arXiv 1901.09847):
// what quantization dropped this round is added to the next round's update, so over rounds the
// sum of what was sent tracks the sum of the true updates (they differ by the last residual only).
//
// EF needs a contractive compressor, E||C(c) - c||^2 <= (1 - delta)||c||^2. Unbiased stochastic
// quantization with variance omega ||c||^2 is not one at 1 bit (omega is about 10 for Gaussian
// blocks of 512; measured: the residual grows geometrically and overflows within ~150 rounds), but
// C(gamma c) with gamma = 1 / (1 + omega) is (Beznosikov et al., "On Biased Compression for
// Distributed Learning", arXiv 2002.12410, Lemma 1; the quantizer is scale-equivariant, so the
// scaled input is the scaled compressor). apply() does that scaling when told the precision, with
// omega taken from varianceBound, an upper bound, which keeps the contraction.
//
// Use: sent = ef.apply(update, { bits, blockSize }); frame = encodeUpdate(sent, { bits, blockSize,
// ... }); once the server accepted the frame, ef.remember(sent, frame). If the upload failed, skip
// remember: the residual stays as it was and is offered again next round.
import type { Bits } from '../bits';
import { decodeUpdate } from './codec';
import { updateStats, varianceBound } from './variance';

export class ErrorFeedback {
  /** What earlier rounds' quantization left out, to be sent later. */
  readonly residual: Float32Array;
  private lastSent: Float32Array | null = null;
  private lastCompensated: Float32Array | null = null;

  constructor(readonly length: number) {
    this.residual = new Float32Array(length);
  }

  /**
   * What to encode this round, as a new array (`update` is not modified): update + residual, times
   * gamma = 1 / (1 + omega) when `codec` names a quantized precision (1-8 bits). Without `codec`,
   * gamma = 1: classic EF, which is stable at 4 bits and up but can diverge at 1 bit.
   */
  apply(update: Float32Array, codec?: { bits: Bits; blockSize?: number }): Float32Array {
    this.checkLength(update);
    const compensated = new Float32Array(this.length);
    const r = this.residual;
    for (let i = 0; i < compensated.length; i++) compensated[i] = update[i] + r[i];
    const gamma = codec === undefined ? 1 : contractionFactor(compensated, codec.bits, codec.blockSize);
    let sent = compensated;
    if (gamma !== 1) {
      sent = new Float32Array(this.length);
      for (let i = 0; i < sent.length; i++) sent[i] = gamma * compensated[i];
    }
    this.lastSent = sent;
    this.lastCompensated = compensated;
    return sent;
  }

  /**
   * residual = (update + residual) - decode(frame), where frame encodes `sent`. `sent` should be
   * what apply() returned; any other array is taken as the compensated update itself (gamma = 1).
   */
  remember(sent: Float32Array, frame: Uint8Array): void {
    this.checkLength(sent);
    const decoded = decodeUpdate(frame, { length: this.length });
    const compensated = sent === this.lastSent && this.lastCompensated !== null ? this.lastCompensated : sent;
    const r = this.residual;
    for (let i = 0; i < r.length; i++) r[i] = compensated[i] - decoded[i];
    this.lastSent = null;
    this.lastCompensated = null;
  }

  reset(): void {
    this.residual.fill(0);
    this.lastSent = null;
    this.lastCompensated = null;
  }

  private checkLength(x: Float32Array): void {
    if (x.length !== this.length) {
      throw new RangeError(`error feedback holds ${this.length} values, the update has ${x.length}`);
    }
  }
}

/** gamma = 1 / (1 + omega), omega = V(n) / ||c||^2 bounding the codec's relative variance. */
export function contractionFactor(c: Float32Array, bits: Bits, blockSize?: number): number {
  if (bits >= 16) return 1;
  const stats = updateStats(c);
  if (stats.normSq === 0) return 1;
  const omega = varianceBound(bits, { ...stats, blockSize }) / stats.normSq;
  return 1 / (1 + omega);
}
