// Where a running sum lives and how a checked frame is added to it. The JavaScript loops of the codec
// (../quant/codec.ts accumulateFrame) are the default and the oracle; a faster kernel (WebAssembly
// SIMD: packages/server/src/merge/) plugs in here without changing any aggregation rule. A kernel
// may hold frames back and add them in batches: `values` is the sum with every frame added so far.
import { accumulateFrame, type CheckedFrame } from '../quant/codec';

export interface RunningSum {
  readonly length: number;
  /** The float64 sum, every add so far included (a batching kernel completes its batch first). */
  readonly values: Float64Array;
  /** sum[i] += factor * decoded value i, for a frame that passed inspectFrame; cannot fail. The frame may be reused once this returns. */
  add(checked: CheckedFrame, factor: number): void;
  /** Back to all zeros, nothing pending. */
  reset(): void;
}

export interface MergeKernel {
  /** 'js', 'wasm-simd': written next to a run's results. */
  readonly name: string;
  createSum(length: number): RunningSum;
}

class JsRunningSum implements RunningSum {
  readonly values: Float64Array;
  constructor(readonly length: number) {
    this.values = new Float64Array(length);
  }
  add(checked: CheckedFrame, factor: number): void {
    accumulateFrame(checked, this.values, factor);
  }
  reset(): void {
    this.values.fill(0);
  }
}

/** The JavaScript kernel: a Float64Array and the codec's own loops. */
export const jsMergeKernel: MergeKernel = {
  name: 'js',
  createSum: (length) => new JsRunningSum(length),
};
