// The merge kernel in WebAssembly SIMD (source: ../../assembly/merge.ts), behind core's MergeKernel
// seam (packages/core/src/aggregate/kernel.ts). Each running sum is its own instance: its linear
// memory holds the float64 sum, an arena of frame payloads waiting to be merged, and their
// descriptors. add() copies a checked 1-8-bit frame's payload into the arena (so the caller's frame
// may be reused) and the arena is merged in one pass when it is full, when a frame cannot join the
// batch, or when the sum is read. Frames the kernel does not take (16- and 32-bit, a block size
// other than the batch's, a payload larger than an arena slot) are added by core's JavaScript loops
// straight into the same memory, after the batch before them: the order of additions, and so every
// bit of the result, is the JavaScript kernel's.
import { FRAME_HEADER_BYTES, accumulateFrame, type CheckedFrame, type MergeKernel, type RunningSum } from '@fedbit/core';

/**
 * Frames merged per pass at most. Measured with 16 updates (bench:codec): at 1 M parameters, where
 * the whole sum fits the last-level cache, the kernel is compute-bound and batch depth hardly
 * matters; at 8 M (a 64 MB sum) batches of 8-16 were about 10% faster than one frame at a time.
 */
export const MAX_BATCH = 8;
/** Float64 elements of the sum per chunk: 16 KiB, so a chunk stays in the L1 cache while every frame of the batch adds to it. */
const CHUNK_ELEMENTS = 2048;
const PAGE = 65536;
const DESC_BYTES = 16;

interface Exports {
  memory: WebAssembly.Memory;
  mergeBatch(sum: number, desc: number, count: number, n: number, blockSize: number, chunkBlocks: number): void;
}

const align16 = (x: number) => Math.ceil(x / 16) * 16;

class WasmRunningSum implements RunningSum {
  private readonly sum: Float64Array;
  private readonly exports: Exports;
  private readonly descView: DataView;
  private readonly bytes: Uint8Array;
  private readonly sumPtr: number;
  private readonly descPtr: number;
  private readonly arenaPtr: number;
  private readonly arenaEnd: number;
  private pending = 0;
  private arenaUsed = 0;
  private batchBlockSize = 0;

  constructor(
    module: WebAssembly.Module,
    readonly length: number,
  ) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    // A 1-8-bit payload of n elements at 8 bits with blocks of 64 or more fits a slot; MAX_BATCH
    // 4-bit frames fit the arena twice over, so lower precisions batch as deep as they are allowed.
    const slot = align16(length + 4 * Math.ceil(length / 64) + 16);
    this.sumPtr = PAGE; // below: the module's own static data
    this.descPtr = align16(this.sumPtr + 8 * length);
    this.arenaPtr = this.descPtr + MAX_BATCH * DESC_BYTES;
    this.arenaEnd = this.arenaPtr + (MAX_BATCH / 2) * slot;
    const memory = this.exports.memory;
    const pages = Math.ceil(this.arenaEnd / PAGE) + 1 - memory.buffer.byteLength / PAGE;
    if (pages > 0) memory.grow(pages);
    // The memory never grows again, so these views stay valid.
    this.sum = new Float64Array(memory.buffer, this.sumPtr, length);
    this.bytes = new Uint8Array(memory.buffer);
    this.descView = new DataView(memory.buffer, this.descPtr, MAX_BATCH * DESC_BYTES);
  }

  /** The sum with every frame added so far: the batch waiting is merged first. */
  get values(): Float64Array {
    this.flush();
    return this.sum;
  }

  add(checked: CheckedFrame, factor: number): void {
    const { header, frame } = checked;
    if (header.length !== this.length) throw new RangeError(`sum has ${this.length} elements, the frame ${header.length}`);
    const payload = frame.byteLength - FRAME_HEADER_BYTES;
    const fits = align16(payload) + 16 <= this.arenaEnd - this.arenaPtr;
    if (header.codec !== 'uniform' || !fits) {
      this.flush();
      accumulateFrame(checked, this.sum, factor);
      return;
    }
    if (this.pending > 0 && (header.blockSize !== this.batchBlockSize || this.arenaPtr + this.arenaUsed + align16(payload) + 16 > this.arenaEnd)) this.flush();
    const at = this.arenaPtr + this.arenaUsed;
    this.bytes.set(frame.subarray(FRAME_HEADER_BYTES), at);
    const d = this.pending * DESC_BYTES;
    this.descView.setFloat64(d, factor, true);
    this.descView.setUint32(d + 8, at, true);
    this.descView.setUint32(d + 12, header.bits, true);
    this.batchBlockSize = header.blockSize;
    this.arenaUsed += align16(payload) + 16; // 16 bytes of slack after each payload
    if (++this.pending === MAX_BATCH) this.flush();
  }

  /** Merges the frames waiting in the arena. */
  flush(): void {
    if (this.pending === 0) return;
    const chunkBlocks = Math.max(1, Math.floor(CHUNK_ELEMENTS / this.batchBlockSize));
    this.exports.mergeBatch(this.sumPtr, this.descPtr, this.pending, this.length, this.batchBlockSize, chunkBlocks);
    this.pending = 0;
    this.arenaUsed = 0;
  }

  reset(): void {
    this.pending = 0;
    this.arenaUsed = 0;
    this.sum.fill(0);
  }
}

/** A MergeKernel on the compiled module. Throws if this WebAssembly lacks SIMD (the module does not compile). */
export function wasmMergeKernel(wasm: Uint8Array): MergeKernel {
  const module = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  return { name: 'wasm-simd', createSum: (length) => new WasmRunningSum(module, length) };
}
