// The server's merge kernel: WebAssembly SIMD where it builds and runs, the JavaScript loops
// otherwise (and on request). FEDBIT_MERGE_KERNEL=js|wasm|auto or ServerOptions.mergeKernel picks.
import { jsMergeKernel, type MergeKernel } from '@fedbit/core';
import { mergeKernelBytes } from './build';
import { wasmMergeKernel } from './wasm-kernel';

export type MergeKernelChoice = 'auto' | 'wasm' | 'js';

/** The kernel asked for. 'auto' falls back to JavaScript (calling onFallback with why); 'wasm' throws instead. */
export async function loadMergeKernel(choice: MergeKernelChoice = 'auto', onFallback?: (reason: string) => void): Promise<MergeKernel> {
  if (choice === 'js') return jsMergeKernel;
  try {
    return wasmMergeKernel(await mergeKernelBytes());
  } catch (error) {
    const reason = `the WebAssembly SIMD merge kernel is not available (${(error as Error).message.split('\n')[0]}); merging with the JavaScript kernel`;
    if (choice === 'wasm') throw new Error(reason.replace('; merging with the JavaScript kernel', ''));
    onFallback?.(reason);
    return jsMergeKernel;
  }
}

export { compileMergeKernel, mergeKernelBytes, MERGE_SOURCE } from './build';
export { wasmMergeKernel, MAX_BATCH } from './wasm-kernel';
