// A grid of what a finished run's model draws, for the experiment's report: the weights a run
// samples with (the EMA of its committed models when it keeps one, as the aggregator does),
// read from the run's checkpoint, 32 images from a fixed seed so every policy is drawn from the
// same starting noise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, initBackend, resolveModelConfig, sample } from '@fedbit/diffusion';
import { encodePng, imageGrid } from '@fedbit/datasets';
import { decodeCheckpoint, type RunConfig } from '@fedbit/server';

export async function runSamplesPng(runDir: string, config: RunConfig, count = 32, seed = 12345): Promise<Uint8Array> {
  await initBackend('wasm');
  const checkpoint = decodeCheckpoint(new Uint8Array(readFileSync(join(runDir, 'checkpoint.bin'))), join(runDir, 'checkpoint.bin'));
  const size = config.dataset.imageSize;
  const model = createModel(resolveModelConfig(config.model.size, { imageSize: size, channels: 1 }), config.seed);
  try {
    model.setWeights(checkpoint.ema ?? checkpoint.weights);
    const images = await sample(model, { count, sampler: config.eval.sampler, steps: config.eval.steps, seed, schedule: config.model.schedule });
    return encodePng(imageGrid(images, count, size, size, 1, { cols: 8, pad: 2, scale: Math.max(1, Math.round(32 / size)) }));
  } finally {
    model.dispose();
  }
}
