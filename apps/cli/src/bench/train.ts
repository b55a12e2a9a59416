// Benchmark (not a test): milliseconds per DDPM training step (batch 8, Adam, epsilon loss) for
// each tfjs backend asked for (default wasm and cpu; webgpu in Node through the optional `webgpu`
// package, on the machine's GPU or, where there is none, on Chromium's SwiftShader) and each model
// size (tiny at 16x16x1, default at 28x28x1). Reports the median after warm-up steps, samples per
// second, parameters, MACs per step (the figure the energy model uses), how many tensors a step
// leaves behind (should be 0), every step's loss (same seed: comparable across backends and
// commits), and on webgpu what a step asks of the GPU, counted at the WebGPU API
// (packages/diffusion/src/webgpu/counters.ts): compute dispatches (GPUComputePassEncoder
// .dispatchWorkgroups), uploads of CPU-side data (buffers created mapped + non-uniform
// GPUQueue.writeBuffer), uniform writes and submits, per step.
// `npm run bench:train [-- --backend webgpu,wasm --steps 10 --json]`
import { cpus, totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  countWebGpuCalls,
  createModel,
  createTrainer,
  diffCounts,
  initBackend,
  macsPerTrainStep,
  resolveModelConfig,
  webGpuCounts,
  type BackendInfo,
  type ModelSize,
} from '@fedbit/diffusion';
import { nameList, parseFlags, wholeNumber } from '../args';
import { ensureNodeWebGpu } from '../node-gpu';
import { table } from '../report';

const BACKENDS = ['webgpu', 'wasm', 'cpu'] as const;
const SIZE_NAMES = ['tiny', 'small', 'default'] as const;

const flags =
  parseFlags(
    process.argv.slice(2),
    {
      backend: { type: 'string', default: 'wasm,cpu', placeholder: 'names', description: `backends to time, comma-separated, from ${BACKENDS.join(', ')}` },
      sizes: { type: 'string', default: 'tiny,default', placeholder: 'names', description: `model sizes, comma-separated, from ${SIZE_NAMES.join(', ')}` },
      steps: { type: 'string', placeholder: 'n', description: 'timed steps per case (default: per backend, about two minutes in all on 2 cores)' },
      warmup: { type: 'string', placeholder: 'n', description: 'untimed steps before them (default: per backend)' },
      json: { type: 'boolean', description: 'end with one JSON line' },
    },
    z.object({
      backend: nameList(BACKENDS),
      sizes: nameList(SIZE_NAMES),
      steps: wholeNumber(1, 1000).optional(),
      warmup: wholeNumber(0, 1000).optional(),
      json: z.boolean(),
    }),
    {
      usage: 'npm run bench:train --',
      summary: 'milliseconds (and on webgpu dispatches and uploads) per training step per backend and model size',
      examples: ['npm run bench:train', 'npm run bench:train -- --steps 5 --json', 'npm run bench:train -- --backend webgpu,wasm --sizes tiny --json'],
    },
  ) ?? process.exit(0);

const BATCH = 8;
const SIZES: { size: ModelSize; imageSize: number; channels: number }[] = [
  { size: 'tiny', imageSize: 16, channels: 1 },
  { size: 'small', imageSize: 16, channels: 1 },
  { size: 'default', imageSize: 28, channels: 1 },
];
// Default steps per case, chosen so the whole run stays under about two minutes on 2 cores (the
// cpu backend is pure JavaScript; webgpu on SwiftShader is software too: seconds per step).
const DEFAULT_STEPS: Record<string, { warmup: number; steps: number }> = {
  'wasm/tiny': { warmup: 3, steps: 15 },
  'wasm/small': { warmup: 3, steps: 10 },
  'wasm/default': { warmup: 2, steps: 6 },
  'cpu/tiny': { warmup: 2, steps: 6 },
  'cpu/small': { warmup: 1, steps: 3 },
  'cpu/default': { warmup: 1, steps: 1 },
  'webgpu/tiny': { warmup: 2, steps: 5 },
  'webgpu/small': { warmup: 1, steps: 3 },
  'webgpu/default': { warmup: 1, steps: 3 },
};

interface Result {
  backend: string;
  /** The WebGPU adapter (vendor, architecture) where the backend is webgpu. */
  adapter: string | null;
  size: ModelSize;
  imageSize: number;
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
    await ensureNodeWebGpu(log);
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
  const counting = backend === 'webgpu' && countWebGpuCalls();
  for (const s of SIZES.filter((x) => flags.sizes.includes(x.size))) {
    const plan = DEFAULT_STEPS[`${backend}/${s.size}`];
    const steps = flags.steps ?? plan.steps;
    const warmup = flags.warmup ?? plan.warmup;
    const config = resolveModelConfig(s.size, { imageSize: s.imageSize, channels: s.channels });
    const model = createModel(config, 0);
    const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: BATCH, schedule: { kind: 'cosine', steps: 1000 }, seed: 0 });
    const images = new Float32Array(BATCH * s.imageSize * s.imageSize * s.channels);
    for (let i = 0; i < images.length; i++) images[i] = ((i * 2654435761) % 997) / 997;
    const losses: number[] = [];
    for (let i = 0; i < warmup; i++) losses.push(await trainer.step({ images, count: BATCH }));
    const tensorsBefore = tf.memory().numTensors;
    const countsBefore = webGpuCounts();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      losses.push(await trainer.step({ images, count: BATCH }));
      times.push(performance.now() - t0);
    }
    const counted = diffCounts(webGpuCounts(), countsBefore);
    const tensorGrowth = tf.memory().numTensors - tensorsBefore;
    trainer.dispose();
    model.dispose();
    times.sort((a, b) => a - b);
    const msPerStep = times[Math.floor(times.length / 2)];
    const perStep = (n: number) => (counting ? Math.round((n / steps) * 10) / 10 : null);
    const r: Result = {
      backend,
      adapter: info.adapter ? `${info.adapter.vendor} ${info.adapter.architecture}`.trim() : null,
      size: s.size,
      imageSize: s.imageSize,
      params: model.paramCount,
      steps,
      msPerStep: Math.round(msPerStep * 10) / 10,
      samplesPerS: Math.round((BATCH / (msPerStep / 1000)) * 10) / 10,
      macsPerStep: macsPerTrainStep(config, BATCH),
      tensorGrowth,
      dispatchesPerStep: perStep(counted.dispatches),
      uploadsPerStep: perStep(counted.uploads),
      uploadBytesPerStep: perStep(counted.uploadBytes),
      uniformWritesPerStep: perStep(counted.uniformWrites),
      submitsPerStep: perStep(counted.submits),
      losses,
    };
    results.push(r);
    log(`${backend} ${s.size}: ${r.msPerStep} ms/step (median of ${steps})` + (counting ? `, ${r.dispatchesPerStep} dispatches, ${r.uploadsPerStep} uploads per step` : ''));
  }
}

const dash = (v: number | null) => (v === null ? '-' : String(v));
const rows = results.map((r) => [
  r.backend,
  `${r.size} ${r.imageSize}x${r.imageSize}`,
  r.params.toLocaleString('en'),
  r.msPerStep.toFixed(1),
  r.samplesPerS.toFixed(1),
  `${(r.macsPerStep / 1e6).toFixed(0)} M`,
  `${(r.macsPerStep / (r.msPerStep / 1000) / 1e9).toFixed(2)}`,
  dash(r.dispatchesPerStep),
  dash(r.uploadsPerStep),
  r.tensorGrowth,
]);
const adapters = [...new Set(results.map((r) => r.adapter).filter((a) => a !== null))];
if (!flags.json) {
  console.log(`\nDDPM training step, batch ${BATCH}, Adam; ${machine}${adapters.length ? `; WebGPU adapter: ${adapters.join(', ')}` : ''}`);
  console.log(table(['backend', 'size', 'params', 'ms/step', 'samples/s', 'MACs/step', 'GMAC/s', 'dispatches/step', 'uploads/step', 'tensor growth'], rows));
} else {
  console.log(JSON.stringify({ machine, batch: BATCH, results }));
}
