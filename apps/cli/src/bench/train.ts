// Benchmark (not a test): milliseconds per DDPM training step (batch 8 or as asked, Adam, epsilon loss) for
// each tfjs backend asked for (default wasm and cpu; webgpu in Node through the optional `webgpu`
// package, on the machine's GPU or, where there is none, on Chromium's SwiftShader) and each model
// size (tiny at 16x16x1, default at 28x28x1). Reports the median after warm-up steps, samples per
// second, parameters, MACs per step (the figure the energy model uses), how many tensors a step
// leaves behind (should be 0), every step's loss (same seed: comparable across backends and
// commits), and on webgpu what a step asks of the GPU, counted at the WebGPU API
// (packages/diffusion/src/webgpu/counters.ts): compute dispatches (GPUComputePassEncoder
// .dispatchWorkgroups), uploads of CPU-side data (buffers created mapped + non-uniform
// GPUQueue.writeBuffer), uniform writes and submits, per step. With --kernel-time, one more step
// runs under tf.time on webgpu: where the adapter offers timestamp queries, the sum of the GPU time
// of its kernels and the kernels that took most (tfjs then ends a compute pass after every kernel,
// so that step is not timed with the others). python/time_step.py times the same U-Net's step in
// PyTorch from this bench's JSON (issue 11's side-by-side comparison on a lent GPU).
// --modes full,ffa-lora,fedit times a LoRA fine-tuning step beside full training of the same model
// (issue 15; rank 4 on every conv and dense layer, base frozen at 8 bits, as the lora preset runs);
// --sizes emoji is the shipped base's U-Net (default at 32x32x3, class-conditional on 9 categories).
// `npm run bench:train [-- --backend webgpu,wasm --batch 8,64 --steps 10 --json]`
// `npm run bench:train -- --backend wasm --sizes emoji --modes full,ffa-lora,fedit --json`
import { cpus, totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  countWebGpuCalls,
  createModel,
  attachLora,
  createTrainer,
  diffCounts,
  initBackend,
  macsPerLoraTrainStep,
  macsPerTrainStep,
  resolveModelConfig,
  webGpuCounts,
  type BackendInfo,
  type ModelConfig,
  type ModelSize,
  type Trainer,
} from '@fedbit/diffusion';
import { nameList, parseFlags, wholeNumber } from '../args';
import { ensureNodeWebGpu } from '../node-gpu';
import { table } from '../report';

const BACKENDS = ['webgpu', 'wasm', 'cpu'] as const;
const SIZE_NAMES = ['tiny', 'small', 'default', 'emoji'] as const;
const MODES = ['full', 'ffa-lora', 'fedit'] as const;
type Mode = (typeof MODES)[number];

const flags =
  parseFlags(
    process.argv.slice(2),
    {
      backend: { type: 'string', default: 'wasm,cpu', placeholder: 'names', description: `backends to time, comma-separated, from ${BACKENDS.join(', ')}` },
      sizes: { type: 'string', default: 'tiny,default', placeholder: 'names', description: `model sizes, comma-separated, from ${SIZE_NAMES.join(', ')}` },
      steps: { type: 'string', placeholder: 'n', description: 'timed steps per case (default: per backend, about two minutes in all on 2 cores)' },
      warmup: { type: 'string', placeholder: 'n', description: 'untimed steps before them (default: per backend)' },
      batch: { type: 'string', default: '8', placeholder: 'sizes', description: 'batch sizes, comma-separated (default 8)' },
      modes: { type: 'string', default: 'full', placeholder: 'names', description: `what a step trains, comma-separated, from ${MODES.join(', ')} (LoRA: rank 4 on every conv and dense layer, the base frozen at 8 bits)` },
      'tf-flag': { type: 'string', placeholder: 'name=value,...', description: 'tfjs environment flags to set first, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=100' },
      'kernel-time': { type: 'boolean', description: 'on webgpu, time one more step\'s kernels on the GPU (timestamp queries, where the adapter has them)' },
      json: { type: 'boolean', description: 'end with one JSON line' },
    },
    z.object({
      backend: nameList(BACKENDS),
      sizes: nameList(SIZE_NAMES),
      modes: nameList(MODES),
      steps: wholeNumber(1, 1000).optional(),
      warmup: wholeNumber(0, 1000).optional(),
      batch: z
        .string()
        .transform((v, ctx) => {
          const sizes = v.split(',').map((x) => Number(x.trim()));
          if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 512)) {
            ctx.addIssue({ code: 'custom', message: `expected batch sizes from 1 to 512, comma-separated, got '${v}'` });
            return z.NEVER;
          }
          return [...new Set(sizes)];
        }),
      'tf-flag': z
        .string()
        .optional()
        .transform((v, ctx) => {
          const out: [string, number | boolean][] = [];
          for (const item of v ? v.split(',') : []) {
            const m = /^([A-Z][A-Z0-9_]*)=(true|false|-?\d+(?:\.\d+)?)$/.exec(item.trim());
            if (!m) {
              ctx.addIssue({ code: 'custom', message: `expected NAME=number or NAME=true|false (a tfjs flag), got '${item}'` });
              return z.NEVER;
            }
            out.push([m[1], m[2] === 'true' ? true : m[2] === 'false' ? false : Number(m[2])]);
          }
          return out;
        }),
      'kernel-time': z.boolean(),
      json: z.boolean(),
    }),
    {
      usage: 'npm run bench:train --',
      summary: 'milliseconds (and on webgpu dispatches and uploads) per training step per backend and model size',
      examples: [
        'npm run bench:train',
        'npm run bench:train -- --steps 5 --json',
        'npm run bench:train -- --backend webgpu,wasm --sizes tiny --json',
        'npm run bench:train -- --backend webgpu --batch 8,64 --kernel-time --json',
        'npm run bench:train -- --backend wasm --sizes emoji --modes full,ffa-lora,fedit --json',
      ],
    },
  ) ?? process.exit(0);

const SIZES: { name: (typeof SIZE_NAMES)[number]; size: ModelSize; imageSize: number; channels: number; numClasses: number }[] = [
  { name: 'tiny', size: 'tiny', imageSize: 16, channels: 1, numClasses: 0 },
  { name: 'small', size: 'small', imageSize: 16, channels: 1, numClasses: 0 },
  { name: 'default', size: 'default', imageSize: 28, channels: 1, numClasses: 0 },
  // the shipped LoRA base's U-Net (public/models/emoji-base/manifest.json)
  { name: 'emoji', size: 'default', imageSize: 32, channels: 3, numClasses: 9 },
];
// Default steps per case, chosen so the whole run stays under about two minutes on 2 cores (the
// cpu backend is pure JavaScript; webgpu on SwiftShader is software too: seconds per step).
const DEFAULT_STEPS: Record<string, { warmup: number; steps: number }> = {
  'wasm/tiny': { warmup: 3, steps: 15 },
  'wasm/small': { warmup: 3, steps: 10 },
  'wasm/default': { warmup: 2, steps: 6 },
  'wasm/emoji': { warmup: 2, steps: 6 },
  'cpu/tiny': { warmup: 2, steps: 6 },
  'cpu/small': { warmup: 1, steps: 3 },
  'cpu/default': { warmup: 1, steps: 1 },
  'cpu/emoji': { warmup: 1, steps: 1 },
  'webgpu/tiny': { warmup: 2, steps: 5 },
  'webgpu/small': { warmup: 1, steps: 3 },
  'webgpu/default': { warmup: 1, steps: 3 },
  'webgpu/emoji': { warmup: 1, steps: 3 },
};

interface KernelTime {
  /** Sum of the step's kernels' GPU time (timestamp queries), ms. */
  kernelMs: number;
  kernels: number;
  /** Kernel programs by total GPU time, most first (at most 8). */
  top: { name: string; ms: number; count: number }[];
}

interface Result {
  backend: string;
  batch: number;
  /** The WebGPU adapter (vendor, architecture) where the backend is webgpu. */
  adapter: string | null;
  size: ModelSize;
  /** The --sizes name (emoji: the LoRA base's U-Net). */
  sizeName: string;
  imageSize: number;
  /** What a step trains: the whole model, or LoRA adapters on the frozen 8-bit base. */
  mode: Mode;
  /** Parameters the step updates (all of them for full; the adapters' for LoRA). */
  trainableParams: number;
  /** The model config timed (python/time_step.py builds the same U-Net from it). */
  config: ModelConfig;
  params: number;
  steps: number;
  msPerStep: number;
  samplesPerS: number;
  macsPerStep: number;
  tensorGrowth: number;
  /** Per step, on webgpu only (null elsewhere); counted at the WebGPU API. */
  dispatchesPerStep: number | null;
  uploadsPerStep: number | null;
  uploadBytesPerStep: number | null;
  uniformWritesPerStep: number | null;
  submitsPerStep: number | null;
  /** --kernel-time on webgpu: GPU time of one more step's kernels; null elsewhere or without timestamp queries. */
  kernelTime: KernelTime | null;
  /** Every step's loss, warm-up included (same seed and data on every backend). */
  losses: number[];
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, tfjs ${tf.version_core}`;
const results: Result[] = [];
const log = (line: string) => {
  if (!flags.json) console.log(line);
  else console.error(line);
};

if (flags.backend.includes('webgpu')) {
  try {
    // unquantized timestamps for --kernel-time (Dawn rounds them to 100 us by default)
    await ensureNodeWebGpu(log, flags['kernel-time'] ? ['disable-dawn-features=timestamp_quantization'] : []);
  } catch (error) {
    log(`webgpu: ${(error as Error).message}`);
  }
}

for (const backend of flags.backend) {
  let info: BackendInfo;
  try {
    info = await initBackend(backend);
  } catch (error) {
    log(`skipping ${backend}: ${(error as Error).message}`);
    continue;
  }
  // after the backend's import, which registers its own flags; tfjs throws on an unknown name
  for (const [name, value] of flags['tf-flag']) {
    try {
      tf.env().set(name, value);
    } catch (error) {
      log(`--tf-flag ${name}: ${(error as Error).message}`);
      process.exit(2);
    }
  }
  const counting = backend === 'webgpu' && countWebGpuCalls();
  for (const s of SIZES.filter((x) => flags.sizes.includes(x.name))) {
    for (const batch of flags.batch) for (const mode of flags.modes) {
      const r = await timeCase(backend, info, s, batch, mode, counting);
      results.push(r);
      log(
        `${backend} ${s.name} ${mode} batch ${batch}: ${r.msPerStep} ms/step (median of ${r.steps})` +
          (counting ? `, ${r.dispatchesPerStep} dispatches, ${r.uploadsPerStep} uploads per step` : '') +
          (r.kernelTime ? `, GPU kernels ${r.kernelTime.kernelMs} ms` : ''),
      );
    }
  }
}

async function timeCase(backend: string, info: BackendInfo, s: (typeof SIZES)[number], batch: number, mode: Mode, counting: boolean): Promise<Result> {
  const plan = DEFAULT_STEPS[`${backend}/${s.name}`];
  const steps = flags.steps ?? plan.steps;
  const warmup = flags.warmup ?? plan.warmup;
  const config = resolveModelConfig(s.size, { imageSize: s.imageSize, channels: s.channels, numClasses: s.numClasses });
  const model = createModel(config, 0);
  // the lora preset's adapters: rank 4 on every conv and dense layer, the base frozen at 8 bits
  const lora = mode === 'full' ? null : attachLora(model, { rank: 4, method: mode, seed: 0 });
  const trainer = createTrainer(lora ?? model, { learningRate: 1e-3, batchSize: batch, schedule: { kind: 'cosine', steps: 1000 }, seed: 0 });
  const images = new Float32Array(batch * s.imageSize * s.imageSize * s.channels);
  for (let i = 0; i < images.length; i++) images[i] = ((i * 2654435761) % 997) / 997;
  const labels = s.numClasses > 0 ? Int32Array.from({ length: batch }, (_, i) => i % s.numClasses) : undefined;
  const losses: number[] = [];
  for (let i = 0; i < warmup; i++) losses.push(await trainer.step({ images, count: batch, labels }));
  const tensorsBefore = tf.memory().numTensors;
  const countsBefore = webGpuCounts();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    losses.push(await trainer.step({ images, count: batch, labels }));
    times.push(performance.now() - t0);
  }
  const counted = diffCounts(webGpuCounts(), countsBefore);
  const tensorGrowth = tf.memory().numTensors - tensorsBefore;
  const kernelTime = flags['kernel-time'] && backend === 'webgpu' ? await timeKernels(trainer, images, batch, labels) : null;
  const trainableParams = lora ? lora.paramCount : model.paramCount;
  const macsPerStep = lora ? macsPerLoraTrainStep(config, lora.layout, batch) : macsPerTrainStep(config, batch);
  trainer.dispose();
  lora?.dispose();
  model.dispose();
  times.sort((a, b) => a - b);
  const msPerStep = times[Math.floor(times.length / 2)];
  const perStep = (n: number) => (counting ? Math.round((n / steps) * 10) / 10 : null);
  return {
    backend,
    batch,
    adapter: info.adapter ? `${info.adapter.vendor} ${info.adapter.architecture}`.trim() : null,
    size: s.size,
    sizeName: s.name,
    imageSize: s.imageSize,
    mode,
    trainableParams,
    config,
    params: model.paramCount,
    steps,
    msPerStep: Math.round(msPerStep * 10) / 10,
    samplesPerS: Math.round((batch / (msPerStep / 1000)) * 10) / 10,
    macsPerStep,
    tensorGrowth,
    dispatchesPerStep: perStep(counted.dispatches),
    uploadsPerStep: perStep(counted.uploads),
    uploadBytesPerStep: perStep(counted.uploadBytes),
    uniformWritesPerStep: perStep(counted.uniformWrites),
    submitsPerStep: perStep(counted.submits),
    kernelTime,
    losses,
  };
}

/**
 * One more training step under tf.time: the step's synchronous part (everything up to reading the
 * loss back) runs inside it, so every kernel of the step is timed. Null where the adapter has no
 * timestamp queries (tfjs then reports kernelMs as an error object).
 */
async function timeKernels(trainer: Trainer, images: Float32Array, batch: number, labels: Int32Array | undefined): Promise<KernelTime | null> {
  // tfjs 4.22's per-kernel breakdown (getExtraProfileInfo: "name: ms, name: ms, ...") flattens the
  // kernels' names into characters, so only its times are read, in dispatch order, and the names
  // are recorded here as the backend runs the programs.
  const backend = tf.backend() as unknown as { runWebGPUProgram: (program: object, ...rest: unknown[]) => unknown };
  const run = backend.runWebGPUProgram;
  const names: string[] = [];
  backend.runWebGPUProgram = function (this: unknown, program: object, ...rest: unknown[]) {
    // tfjs's programs are classes; the project's own (./webgpu/program.ts) are objects named by shaderKey
    const key = (program as { shaderKey?: string }).shaderKey;
    names.push(program.constructor.name === 'Object' && key ? key : program.constructor.name);
    return run.call(this, program, ...rest);
  };
  let pending: Promise<number> | null = null;
  let timing: tf.TimingInfo;
  try {
    timing = await tf.time(() => {
      pending = trainer.step({ images, count: batch, labels });
    });
    await pending;
  } finally {
    backend.runWebGPUProgram = run;
  }
  if (typeof timing.kernelMs !== 'number') return null;
  const info = (timing as { getExtraProfileInfo?: () => string }).getExtraProfileInfo?.() ?? '';
  const ms = info.split(', ').map((entry) => Number(entry.slice(entry.lastIndexOf(': ') + 2)));
  const byName = new Map<string, { ms: number; count: number }>();
  names.forEach((name, i) => {
    const e = byName.get(name) ?? { ms: 0, count: 0 };
    e.ms += Number.isFinite(ms[i]) ? ms[i] : 0;
    e.count++;
    byName.set(name, e);
  });
  const top = [...byName.entries()]
    .map(([name, e]) => ({ name, ms: Math.round(e.ms * 1000) / 1000, count: e.count }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8);
  return { kernelMs: Math.round(timing.kernelMs * 1000) / 1000, kernels: names.length, top };
}

const dash = (v: number | null) => (v === null ? '-' : String(v));
const fullOf = (r: Result) => results.find((x) => x.mode === 'full' && x.backend === r.backend && x.sizeName === r.sizeName && x.batch === r.batch);
const rows = results.map((r) => [
  r.backend,
  `${r.sizeName} ${r.imageSize}x${r.imageSize}x${r.config.channels}`,
  r.mode,
  r.batch,
  r.trainableParams.toLocaleString('en'),
  r.msPerStep.toFixed(1),
  r.mode === 'full' || !fullOf(r) ? '-' : (r.msPerStep / fullOf(r)!.msPerStep).toFixed(2),
  r.samplesPerS.toFixed(1),
  `${(r.macsPerStep / 1e6).toFixed(0)} M`,
  `${(r.macsPerStep / (r.msPerStep / 1000) / 1e9).toFixed(2)}`,
  dash(r.dispatchesPerStep),
  dash(r.uploadsPerStep),
  r.kernelTime ? r.kernelTime.kernelMs.toFixed(1) : '-',
  r.tensorGrowth,
]);
const adapters = [...new Set(results.map((r) => r.adapter).filter((a) => a !== null))];
if (!flags.json) {
  console.log(`\nDDPM training step, Adam; ${machine}${adapters.length ? `; WebGPU adapter: ${adapters.join(', ')}` : ''}`);
  console.log(table(['backend', 'size', 'mode', 'batch', 'trained params', 'ms/step', 'vs full', 'samples/s', 'MACs/step', 'GMAC/s', 'dispatches/step', 'uploads/step', 'GPU kernel ms', 'tensor growth'], rows));
} else {
  console.log(JSON.stringify({ machine, batches: flags.batch, results }));
}
