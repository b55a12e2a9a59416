// The backend chosen by measurement: at join, the device times a training step of the run's own
// model on each tfjs backend it has and keeps the fastest. Software WebGPU (SwiftShader) can be a
// hundred times slower than WebAssembly on the same machine, and no static order knows that.
import { createModel, createTrainer, initBackend, type BackendInfo, type BackendName, type ModelConfig } from '@fedbit/diffusion';
import { BACKEND_TRIAL_GIVE_UP_FACTOR, BACKEND_TRIAL_STEPS } from './constants';

export interface BackendTrial {
  backend: BackendName;
  /** Median milliseconds per training step after a warm-up step, or null when it could not run. */
  stepMs: number | null;
  note?: string;
}

export interface BackendChoice {
  info: BackendInfo;
  stepMs: number;
  trials: BackendTrial[];
  /** One line for the person: which backend and why. */
  reason: string;
}

/** In the order tried: the fallback first, so the others are measured against a known pace. */
export const TRIAL_ORDER: BackendName[] = ['wasm', 'webgl', 'webgpu'];

async function timeSteps(model: ModelConfig, batchSize: number, bestSoFar: number | null): Promise<{ stepMs: number; note?: string }> {
  const net = createModel(model, 0);
  const trainer = createTrainer(net, { learningRate: 1e-3, batchSize, schedule: { kind: 'cosine', steps: 100 }, seed: 1 });
  const pixels = model.imageSize * model.imageSize * model.channels;
  const batch = { images: new Float32Array(batchSize * pixels).fill(0.5), labels: model.numClasses > 0 ? new Int32Array(batchSize) : undefined, count: batchSize };
  try {
    let started = Date.now();
    await trainer.step(batch); // warm-up: shader compilation, kernel caches
    const warmMs = Date.now() - started;
    if (bestSoFar !== null && warmMs > bestSoFar * BACKEND_TRIAL_GIVE_UP_FACTOR) return { stepMs: warmMs, note: 'warm-up step alone was far slower; not timed further' };
    const times: number[] = [];
    for (let i = 0; i < BACKEND_TRIAL_STEPS; i++) {
      started = Date.now();
      await trainer.step(batch);
      times.push(Date.now() - started);
    }
    times.sort((a, b) => a - b);
    return { stepMs: Math.max(0.1, times[Math.floor(times.length / 2)]) };
  } finally {
    trainer.dispose();
    net.dispose();
  }
}

/** Times each backend this runtime has and leaves the fastest one active. */
export async function chooseBackend(model: ModelConfig, batchSize: number, options: { wasmPath?: string } = {}): Promise<BackendChoice> {
  const trials: BackendTrial[] = [];
  let best: { info: BackendInfo; stepMs: number } | null = null;
  for (const backend of TRIAL_ORDER) {
    let info: BackendInfo;
    try {
      info = await initBackend(backend, options);
    } catch {
      trials.push({ backend, stepMs: null, note: 'not available here' });
      continue;
    }
    try {
      const { stepMs, note } = await timeSteps(model, batchSize, best?.stepMs ?? null);
      trials.push({ backend, stepMs, ...(note ? { note } : {}) });
      if (!best || stepMs < best.stepMs) best = { info, stepMs };
    } catch (error) {
      trials.push({ backend, stepMs: null, note: `failed: ${(error as Error).message.slice(0, 120)}` });
    }
  }
  if (!best) throw new Error('no tfjs backend could train the model here (tried wasm, webgl, webgpu)');
  const info = await initBackend(best.info.backend as BackendName, options);
  const timed = trials.filter((t) => t.stepMs !== null).map((t) => `${t.backend} ${Math.round(t.stepMs!)} ms`);
  const reason = `${info.backend} trains fastest here (${timed.join(', ')} per step of batch ${batchSize})`;
  return { info, stepMs: best.stepMs, trials, reason };
}
