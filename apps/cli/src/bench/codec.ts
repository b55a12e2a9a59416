// Benchmark (not a test): the update codec and the server's aggregation on a 1,000,000-parameter
// update (Gaussian values, sd 1e-3). Per precision: frame bytes / fp32 bytes, encode speed,
// aggregation speed (StreamingAggregator.add: check + decode straight into the float64 running
// sum) and the naive path (decodeUpdate to a float32 array, then add it). The ceiling C is a plain
// pass sum[i] += w * x[i] (x Float32Array, sum Float64Array, the aggregator's accumulator type)
// over the same length in the same run: what memory and the JIT allow for touching the sum once.
// Every figure is the median of timed repeats after warm-up.
// `npm run bench:codec [-- --params 1000000 --repeats 15 --json]`
import { arch, cpus, platform } from 'node:os';
import { z } from 'zod';
import { ALL_BITS, NaiveAggregator, StreamingAggregator, createRng, encodeUpdate, type Bits } from '@fedbit/core';
import { parseFlags, wholeNumber } from '../args';
import { table } from '../report';

const flags = parseFlags(
  process.argv.slice(2),
  {
    params: { type: 'string', default: '1000000', placeholder: 'n', description: 'parameters per update' },
    repeats: { type: 'string', default: '15', placeholder: 'n', description: 'timed repeats per case (median reported)' },
    json: { type: 'boolean', description: 'end with one JSON line' },
  },
  z.object({ params: wholeNumber(1, 100_000_000), repeats: wholeNumber(3, 1000), json: z.boolean() }),
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
  console.log(JSON.stringify({ params: N, ceilingMelemPerS: round(ceiling, 1), accumulator: 'Float64Array', machine, bits: bitsJson }));
}
