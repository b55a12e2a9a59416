// Benchmark (not a test): milliseconds per DDPM training step (batch 8, Adam, epsilon loss) for
// each tfjs backend available in Node (wasm, cpu; webgpu needs a browser or the optional `webgpu`
// package and is skipped) and each model size (tiny at 16x16x1, default at 28x28x1). Reports the
// median after warm-up steps, samples per second, parameters, MACs per step (the figure the energy
// model uses) and how many tensors a step leaves behind (should be 0).
// `npm run bench:train [-- --steps 10 --json]`
import { cpus, totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { createModel, createTrainer, initBackend, macsPerTrainStep, resolveModelConfig, type ModelSize } from '@fedbit/diffusion';
import { parseFlags, wholeNumber } from '../args';
import { table } from '../report';

const flags = parseFlags(
  process.argv.slice(2),
  {
    steps: { type: 'string', placeholder: 'n', description: 'timed steps per case (default: per backend, about two minutes in all on 2 cores)' },
    json: { type: 'boolean', description: 'end with one JSON line' },
  },
  z.object({ steps: wholeNumber(1, 1000).optional(), json: z.boolean() }),
  { usage: 'npm run bench:train --', summary: 'milliseconds per training step per backend and model size', examples: ['npm run bench:train', 'npm run bench:train -- --steps 5 --json'] },
) ?? process.exit(0);

const BATCH = 8;
const SIZES: { size: ModelSize; imageSize: number; channels: number }[] = [
  { size: 'tiny', imageSize: 16, channels: 1 },
  { size: 'default', imageSize: 28, channels: 1 },
];
// Default timed steps per case, chosen so the whole run stays under about two minutes on 2 cores
// (the cpu backend is pure JavaScript: seconds per default-size step).
const DEFAULT_STEPS: Record<string, { warmup: number; steps: number }> = {
  'wasm/tiny': { warmup: 3, steps: 15 },
  'wasm/default': { warmup: 2, steps: 6 },
  'cpu/tiny': { warmup: 2, steps: 6 },
  'cpu/default': { warmup: 1, steps: 1 },
};

interface Result {
  backend: string;
  size: ModelSize;
  imageSize: number;
  params: number;
  msPerStep: number;
  samplesPerS: number;
  macsPerStep: number;
  tensorGrowth: number;
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, tfjs ${tf.version_core}`;
const results: Result[] = [];
const log = (line: string) => {
  if (!flags.json) console.log(line);
  else console.error(line);
};

for (const backend of ['wasm', 'cpu'] as const) {
  try {
    await initBackend(backend);
  } catch (error) {
    log(`skipping ${backend}: ${(error as Error).message}`);
    continue;
  }
  for (const s of SIZES) {
    const plan = DEFAULT_STEPS[`${backend}/${s.size}`];
    const steps = flags.steps ?? plan.steps;
    const config = resolveModelConfig(s.size, { imageSize: s.imageSize, channels: s.channels });
    const model = createModel(config, 0);
    const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: BATCH, schedule: { kind: 'cosine', steps: 1000 }, seed: 0 });
    const images = new Float32Array(BATCH * s.imageSize * s.imageSize * s.channels);
    for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) % 997 / 997;
    for (let i = 0; i < plan.warmup; i++) await trainer.step({ images, count: BATCH });
    const tensorsBefore = tf.memory().numTensors;
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await trainer.step({ images, count: BATCH });
      times.push(performance.now() - t0);
    }
    const tensorGrowth = tf.memory().numTensors - tensorsBefore;
    trainer.dispose();
    model.dispose();
    times.sort((a, b) => a - b);
    const msPerStep = times[Math.floor(times.length / 2)];
    const r: Result = {
      backend,
      size: s.size,
      imageSize: s.imageSize,
      params: model.paramCount,
      msPerStep: Math.round(msPerStep * 10) / 10,
      samplesPerS: Math.round((BATCH / (msPerStep / 1000)) * 10) / 10,
      macsPerStep: macsPerTrainStep(config, BATCH),
      tensorGrowth,
    };
    results.push(r);
    log(`${backend} ${s.size}: ${r.msPerStep} ms/step (median of ${steps})`);
  }
}

const rows = results.map((r) => [
  r.backend,
  `${r.size} ${r.imageSize}x${r.imageSize}`,
  r.params.toLocaleString('en'),
  r.msPerStep.toFixed(1),
  r.samplesPerS.toFixed(1),
  `${(r.macsPerStep / 1e6).toFixed(0)} M`,
  `${((r.macsPerStep / (r.msPerStep / 1000)) / 1e9).toFixed(2)}`,
  r.tensorGrowth,
]);
if (!flags.json) {
  console.log(`\nDDPM training step, batch ${BATCH}, Adam; ${machine}`);
  console.log(table(['backend', 'size', 'params', 'ms/step', 'samples/s', 'MACs/step', 'GMAC/s', 'tensor growth'], rows));
} else {
  console.log(JSON.stringify({ machine, batch: BATCH, results }));
}
