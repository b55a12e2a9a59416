// Benchmark (not a test): the update codec and the server's aggregation on a 1,000,000-parameter
// update (Gaussian values, sd 1e-3). Per precision: frame bytes / fp32 bytes, encode speed,
// aggregation speed (StreamingAggregator.add: check + decode straight into the float64 running
// sum) and the naive path (decodeUpdate to a float32 array, then add it). The ceiling C is a plain
// pass sum[i] += w * x[i] (x Float32Array, sum Float64Array, the aggregator's accumulator type)
// over the same length in the same run: what memory and the JIT allow for touching the sum once.
// Every figure is the median of timed repeats after warm-up.
//
// Then the merge of K updates (--updates, default 16) side by side, in params per second (K x N
// over the time): the JavaScript kernel and the WebAssembly SIMD kernel (packages/server/src/merge),
// each as the kernel alone (decode + weighted accumulate) and as the aggregator's whole add (the
// frame's checks and checksum too), against numpy merging K float32 updates in python3 (skipped
// when python3 or numpy is missing): Flower's aggregate (flwr/server/strategy/aggregate.py:
// reduce(np.add, [w_k * x_k]) / sum w), an in-place accumulate, and one BLAS matrix-vector product
// (w @ X, the fastest numpy has). numpy runs on one thread, as the kernels do, before and after the
// JavaScript runs; its better figure is kept. glibc is told to keep freed memory
// (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_): numpy's best case, since otherwise every call of
// Flower's aggregate faults in fresh pages for its temporaries and measured 4-5x slower here.
// `npm run bench:codec [-- --params 1000000 --repeats 15 --updates 16 --json]`
import { spawnSync } from 'node:child_process';
import { arch, cpus, platform } from 'node:os';
import { z } from 'zod';
import { ALL_BITS, NaiveAggregator, StreamingAggregator, createRng, encodeUpdate, inspectFrame, jsMergeKernel, type Bits, type MergeKernel } from '@fedbit/core';
import { mergeKernelBytes, wasmMergeKernel } from '@fedbit/server';
import { parseFlags, wholeNumber } from '../args';
import { table } from '../report';

const flags = parseFlags(
  process.argv.slice(2),
  {
    params: { type: 'string', default: '1000000', placeholder: 'n', description: 'parameters per update' },
    repeats: { type: 'string', default: '15', placeholder: 'n', description: 'timed repeats per case (median reported)' },
    updates: { type: 'string', default: '16', placeholder: 'k', description: 'updates per merge in the side-by-side merge table' },
    json: { type: 'boolean', description: 'end with one JSON line' },
  },
  z.object({ params: wholeNumber(1, 100_000_000), repeats: wholeNumber(3, 1000), updates: wholeNumber(1, 256), json: z.boolean() }),
  { usage: 'npm run bench:codec --', summary: 'codec size and speed per precision, and aggregation against the memory-speed ceiling', examples: ['npm run bench:codec', 'npm run bench:codec -- --params 100000 --json'] },
) ?? process.exit(0);
const N = flags.params;
const REPEATS = flags.repeats;
const WARMUP = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// The machine is shared, so its speed drifts during a run: every timed repeat of anything is
// paired with a timed ceiling pass, and C is the median over all of them.
const ceilingSamplesMs: number[] = [];

/** Median milliseconds of fn over REPEATS runs after WARMUP runs, each next to a ceiling pass. */
function timeMs(fn: () => void): number {
  for (let i = 0; i < WARMUP; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    let t = performance.now();
    ceilingPass(ceilingSum, update, 0.5);
    ceilingSamplesMs.push(performance.now() - t);
    t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

function gaussianUpdate(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box-Muller; 1 - u keeps the log finite.
    const r = Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * 1e-3;
    const a = 2 * Math.PI * rng.nextFloat();
    x[i] = r * Math.cos(a);
    if (i + 1 < n) x[i + 1] = r * Math.sin(a);
  }
  return x;
}

function ceilingPass(sum: Float64Array, x: Float32Array, w: number): void {
  for (let i = 0; i < sum.length; i++) sum[i] += w * x[i];
}

const update = gaussianUpdate(N, 7);
const melemPerS = (ms: number) => N / ms / 1e3;

const ceilingSum = new Float64Array(N);
for (let i = 0; i < WARMUP; i++) ceilingPass(ceilingSum, update, 0.5);

type Entry = { bytesRatio: number; encodeMparamsPerS: number; aggregateMparamsPerS: number; naiveAggregateMparamsPerS: number };
const results: Record<string, Entry> = {};
const rng = createRng(1);
for (const bits of ALL_BITS as readonly Bits[]) {
  const frame = encodeUpdate(update, { bits, round: 1, rng });
  const encodeMs = timeMs(() => encodeUpdate(update, { bits, round: 1, rng }));
  const streaming = new StreamingAggregator(N);
  const aggregateMs = timeMs(() => streaming.add(frame, 0.5));
  const naive = new NaiveAggregator(N);
  const naiveMs = timeMs(() => naive.add(frame, 0.5));
  results[bits] = {
    bytesRatio: frame.byteLength / (4 * N),
    encodeMparamsPerS: melemPerS(encodeMs),
    aggregateMparamsPerS: melemPerS(aggregateMs),
    naiveAggregateMparamsPerS: melemPerS(naiveMs),
  };
}
const ceiling = melemPerS(median(ceilingSamplesMs));

// ---- the merge of K updates, side by side with numpy ----
const K = flags.updates;

const NUMPY_SCRIPT = `
import json, sys, time
from functools import reduce
import numpy as np
n, k, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)
xs = [(rng.standard_normal(n) * 1e-3).astype(np.float32) for _ in range(k)]
w = rng.random(k).astype(np.float32) + np.float32(0.5)
stacked = np.stack(xs)
def flower():
    return reduce(np.add, [x * wi for x, wi in zip(xs, w)]) / w.sum()
def inplace():
    acc = np.zeros(n, np.float32)
    for x, wi in zip(xs, w):
        acc += wi * x
    acc /= w.sum()
    return acc
def blas():
    return (w @ stacked) / w.sum()
out = {}
for name, fn in (("flower", flower), ("inplace", inplace), ("blas", blas)):
    # enough warm-up that the allocator reuses memory instead of faulting in new pages every call
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    out[name] = n * k / times[len(times) // 2] / 1e6
out["numpy"] = np.__version__
print(json.dumps(out))
`;

type NumpyFigures = { flower: number; inplace: number; blas: number; numpy: string };

/** numpy's merge of K float32 updates of N parameters, one thread; null when python3 or numpy is missing. */
function numpyMerge(): NumpyFigures | null {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', MALLOC_TRIM_THRESHOLD_: String(2 ** 30), MALLOC_MMAP_THRESHOLD_: String(2 ** 25) };
  const run = spawnSync('python3', ['-c', NUMPY_SCRIPT, String(N), String(K), String(Math.max(REPEATS, 9))], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (run.error || run.status !== 0) return null;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as NumpyFigures;
}

let wasmKernel: MergeKernel | null = null;
try {
  wasmKernel = wasmMergeKernel(await mergeKernelBytes());
} catch (error) {
  console.error(`the WebAssembly SIMD kernel is not available here (${(error as Error).message.split('\n')[0]}); its columns are left out`);
}

const numpyBefore = numpyMerge();
type MergeEntry = { jsKernel: number; jsAdd: number; wasmKernel: number | null; wasmAdd: number | null };
const merges: Record<string, MergeEntry> = {};
for (const bits of [1, 2, 4, 8] as Bits[]) {
  const frames = Array.from({ length: K }, (_, k) => encodeUpdate(gaussianUpdate(N, 100 + k), { bits, round: 1, seed: k + 1 }));
  const weights = frames.map((_, k) => 0.5 + k / K);
  const checked = frames.map((frame) => inspectFrame(frame));
  const perS = (ms: number) => (K * N) / ms / 1e3;
  const kernelOnly = (kernel: MergeKernel) => {
    const sum = kernel.createSum(N);
    return perS(timeMs(() => {
      for (let k = 0; k < K; k++) sum.add(checked[k], weights[k]);
      void sum.values; // a batching kernel completes its batch here
    }));
  };
  const wholeAdd = (kernel: MergeKernel) => {
    const aggregator = new StreamingAggregator(N, { kernel });
    return perS(timeMs(() => {
      for (let k = 0; k < K; k++) aggregator.add(frames[k], weights[k]);
      aggregator.finish();
    }));
  };
  merges[bits] = {
    jsKernel: kernelOnly(jsMergeKernel),
    jsAdd: wholeAdd(jsMergeKernel),
    wasmKernel: wasmKernel ? kernelOnly(wasmKernel) : null,
    wasmAdd: wasmKernel ? wholeAdd(wasmKernel) : null,
  };
}
const numpyAfter = numpyMerge();
const numpy: NumpyFigures | null =
  numpyBefore && numpyAfter
    ? { flower: Math.max(numpyBefore.flower, numpyAfter.flower), inplace: Math.max(numpyBefore.inplace, numpyAfter.inplace), blas: Math.max(numpyBefore.blas, numpyAfter.blas), numpy: numpyAfter.numpy }
    : (numpyBefore ?? numpyAfter);

const cpu = cpus();
const machine = `${cpu[0]?.model.trim() ?? 'unknown cpu'} (${cpu.length} logical cores), ${platform()} ${arch()}, node ${process.version}`;

const round = (x: number, digits: number) => Number(x.toFixed(digits));
console.log(`codec benchmark: ${N.toLocaleString('en')} parameters, median of ${REPEATS} after ${WARMUP} warm-up; ${machine}`);
console.log(`ceiling C (sum[i] += w * x[i], Float32Array x into Float64Array sum): ${ceiling.toFixed(0)} Melem/s\n`);
console.log(
  table(
    ['bits', 'bytes/fp32', 'encode Mparam/s', 'aggregate Mparam/s', 'x C', 'naive Mparam/s', 'vs naive'],
    Object.entries(results).map(([bits, r]) => [
      bits,
      r.bytesRatio.toFixed(4),
      r.encodeMparamsPerS.toFixed(0),
      r.aggregateMparamsPerS.toFixed(0),
      (r.aggregateMparamsPerS / ceiling).toFixed(2),
      r.naiveAggregateMparamsPerS.toFixed(0),
      (r.aggregateMparamsPerS / r.naiveAggregateMparamsPerS).toFixed(2) + 'x',
    ]),
  ),
);
const fmt = (x: number | null | undefined) => (x == null ? '-' : x.toFixed(0));
console.log(`\nmerge of ${K} updates of ${N.toLocaleString('en')} parameters, in Mparam/s (${K} x N / time); kernel = decode + weighted accumulate, add = the aggregator's whole add (checks and checksum too)`);
console.log(
  numpy
    ? `numpy ${numpy.numpy}, one thread, ${K} float32 updates: Flower's aggregate ${numpy.flower.toFixed(0)}, in-place accumulate ${numpy.inplace.toFixed(0)}, BLAS w @ X ${numpy.blas.toFixed(0)}`
    : 'numpy: python3 with numpy not found, its columns are left out',
);
console.log(
  table(
    ['bits', 'JS kernel', 'JS add', 'wasm kernel', 'wasm add', 'wasm kernel / JS', 'wasm kernel / numpy Flower', 'wasm kernel / numpy BLAS'],
    Object.entries(merges).map(([bits, m]) => [
      bits,
      fmt(m.jsKernel),
      fmt(m.jsAdd),
      fmt(m.wasmKernel),
      fmt(m.wasmAdd),
      m.wasmKernel ? (m.wasmKernel / m.jsKernel).toFixed(2) + 'x' : '-',
      m.wasmKernel && numpy ? (m.wasmKernel / numpy.flower).toFixed(2) + 'x' : '-',
      m.wasmKernel && numpy ? (m.wasmKernel / numpy.blas).toFixed(2) + 'x' : '-',
    ]),
  ),
);
if (flags.json) {
  const bitsJson = Object.fromEntries(
    Object.entries(results).map(([bits, r]) => [
      bits,
      {
        bytesRatio: round(r.bytesRatio, 6),
        encodeMparamsPerS: round(r.encodeMparamsPerS, 1),
        aggregateMparamsPerS: round(r.aggregateMparamsPerS, 1),
        naiveAggregateMparamsPerS: round(r.naiveAggregateMparamsPerS, 1),
      },
    ]),
  );
  const mergeJson = Object.fromEntries(
    Object.entries(merges).map(([bits, m]) => [
      bits,
      {
        jsKernelMparamsPerS: round(m.jsKernel, 1),
        jsAddMparamsPerS: round(m.jsAdd, 1),
        wasmKernelMparamsPerS: m.wasmKernel == null ? null : round(m.wasmKernel, 1),
        wasmAddMparamsPerS: m.wasmAdd == null ? null : round(m.wasmAdd, 1),
      },
    ]),
  );
  const numpyJson = numpy ? { version: numpy.numpy, threads: 1, flowerMparamsPerS: round(numpy.flower, 1), inplaceMparamsPerS: round(numpy.inplace, 1), blasMparamsPerS: round(numpy.blas, 1) } : null;
  const fourBit = merges[4].wasmKernel;
  console.log(
    JSON.stringify({
      params: N,
      ceilingMelemPerS: round(ceiling, 1),
      accumulator: 'Float64Array',
      machine,
      bits: bitsJson,
      merge: { updates: K, bits: mergeJson, numpy: numpyJson, fourBitWasmOverNumpyFlower: fourBit && numpy ? round(fourBit / numpy.flower, 3) : null, fourBitWasmOverNumpyBlas: fourBit && numpy ? round(fourBit / numpy.blas, 3) : null },
    }),
  );
}
