// The WebAssembly SIMD merge against its oracle, the JavaScript kernel: the same float64 sums bit
// for bit, for every bit width, odd lengths and block sizes, all-zero and extreme scales, mixed
// batches (lossless frames and other block sizes in between), more frames than one batch holds,
// reads in the middle and resets.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, encodeUpdate, inspectFrame, jsMergeKernel, StreamingAggregator, type Bits, type MergeKernel } from '@fedbit/core';
import { compileMergeKernel, mergeKernelBytes } from './build';
import { MAX_BATCH, wasmMergeKernel } from './wasm-kernel';

let wasm: MergeKernel;
beforeAll(async () => {
  wasm = wasmMergeKernel(await mergeKernelBytes());
}, 120_000);

function update(n: number, seed: number, scale = 1e-3): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

type Frame = { frame: Uint8Array; factor: number };

/** Both kernels' sums after the same adds, in the same order. */
function sums(n: number, frames: Frame[]): [Float64Array, Float64Array] {
  const js = jsMergeKernel.createSum(n);
  const simd = wasm.createSum(n);
  for (const { frame, factor } of frames) {
    const checked = inspectFrame(frame, { length: n });
    js.add(checked, factor);
    simd.add(checked, factor);
  }
  return [js.values, simd.values];
}

describe('the WebAssembly SIMD merge kernel', () => {
  it('builds from its AssemblyScript source, to the bytes the cache holds', async () => {
    const built = await compileMergeKernel();
    expect(built).toEqual(await mergeKernelBytes());
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(built as Uint8Array<ArrayBuffer>)).map((e) => e.name);
    expect(exports.sort()).toEqual(['memory', 'mergeBatch']);
  }, 120_000);

  it('equals the JavaScript kernel bit for bit at 1, 2, 4 and 8 bits, odd lengths and block sizes', () => {
    for (const bits of [1, 2, 4, 8] as Bits[]) {
      for (const n of [1, 7, 31, 33, 127, 129, 513, 1000, 4099, 20_011]) {
        for (const blockSize of [512, 100, 37, 8]) {
          const frames = [0, 1, 2].map((k) => ({ frame: encodeUpdate(update(n, 100 * n + k), { bits, round: 1, blockSize, seed: k + 1 }), factor: [0.25, 1.7, 3e-3][k] }));
          const [js, simd] = sums(n, frames);
          expect(simd, `${bits} bits, n ${n}, block ${blockSize}`).toEqual(js);
        }
      }
    }
  });

  it('all-zero updates, the largest float32 scales and subnormal ones', () => {
    const n = 3001;
    for (const bits of [1, 2, 4, 8] as Bits[]) {
      const big = update(n, 5, 3.4e38);
      big[17] = 3.4028234663852886e38;
      const frames = [
        { frame: encodeUpdate(new Float32Array(n), { bits, round: 1 }), factor: 1 },
        { frame: encodeUpdate(big, { bits, round: 1, seed: 2 }), factor: 0.5 },
        { frame: encodeUpdate(update(n, 6, 1e-40), { bits, round: 1, seed: 3 }), factor: 2 },
        { frame: encodeUpdate(update(n, 7), { bits, round: 1, seed: 4 }), factor: 1e-30 },
      ];
      const [js, simd] = sums(n, frames);
      expect(simd, `${bits} bits`).toEqual(js);
      expect(simd.some((x) => Math.abs(x) > 1e38)).toBe(true);
    }
  });

  it('keeps the order of additions across lossless frames, other block sizes and more frames than a batch holds', () => {
    const n = 10_007;
    const frames: Frame[] = [];
    for (let k = 0; k < 2 * MAX_BATCH + 5; k++) {
      const bits = ([1, 2, 4, 8, 16, 32] as Bits[])[k % 6];
      frames.push({ frame: encodeUpdate(update(n, k, 10 ** -(k % 5)), { bits, round: 1, blockSize: k % 7 === 3 ? 256 : 512, seed: k + 9 }), factor: 1 / (k + 1) });
    }
    const [js, simd] = sums(n, frames);
    expect(simd).toEqual(js);
    // 4-bit frames only, three batches and a part of one.
    const four = Array.from({ length: 3 * MAX_BATCH + 3 }, (_, k) => ({ frame: encodeUpdate(update(n, 50 + k), { bits: 4 as Bits, round: 1, seed: k + 1 }), factor: (k + 1) / 7 }));
    const [js4, simd4] = sums(n, four);
    expect(simd4).toEqual(js4);
  });

  it('reads in the middle of a batch, resets, and a StreamingAggregator on it gives the same mean', () => {
    const n = 2049;
    const frames = Array.from({ length: 6 }, (_, k) => encodeUpdate(update(n, k + 70), { bits: 4, round: 3, seed: k + 1 }));
    const simd = wasm.createSum(n);
    const js = jsMergeKernel.createSum(n);
    for (const [k, frame] of frames.entries()) {
      simd.add(inspectFrame(frame), k + 1);
      js.add(inspectFrame(frame), k + 1);
      if (k === 2) expect(simd.values).toEqual(js.values);
    }
    expect(simd.values).toEqual(js.values);
    simd.reset();
    expect(simd.values.every((x) => x === 0)).toBe(true);

    const a = new StreamingAggregator(n, { clipNorm: 0.01 });
    const b = new StreamingAggregator(n, { clipNorm: 0.01, kernel: wasm });
    for (const [k, frame] of frames.entries()) {
      a.add(frame, k + 1, 0.5);
      b.add(frame, k + 1, 0.5);
    }
    expect(b.finish()).toEqual(a.finish());
    expect(b.describe()).toMatchObject({ kernel: 'wasm-simd' });
  });
});
