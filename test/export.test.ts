// The published model loads in other people's tools: a real aggregator on loopback serves it, plain
// @tensorflow/tfjs loads the graph model over HTTP and runs one denoising step, and Python reads
// the safetensors (NumPy always, PyTorch where it is installed); each step must equal the
// project's own predictNoise.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, normalFrom } from '@fedbit/core';
import { createModel, importTfjs, type DiffusionModel } from '@fedbit/diffusion';
import { REPO_ROOT, type RunningServer } from '@fedbit/server';
import { startTestServer } from './helpers';
import { denoiseOnce, sampleDdim, type DenoiseInput } from './export/plain-tfjs';
import { makeSchedule } from '@fedbit/diffusion';

const python = (args: string[]) => spawnSync('python3', args, { encoding: 'utf8', cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
const hasNumpy = python(['-c', 'import numpy']).status === 0;
const hasTorch = hasNumpy && python(['-c', 'import torch']).status === 0;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('the exported model', () => {
  let server: RunningServer;
  let reference: DiffusionModel;
  let input: DenoiseInput;
  let expected: Float32Array;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer({ model: { size: 'tiny', classConditional: true, schedule: { kind: 'cosine', steps: 100 } } });
    // A trained-looking global model: every tensor non-zero (a fresh model's zero-initialised
    // output convolution would make every output 0, and every comparison trivially equal).
    const gauss = normalFrom(mulberry32(42));
    const global = server.coordinator.global;
    for (let i = 0; i < global.length; i++) global[i] = gauss() * 0.15;

    // The project's own step, from the project's own format.
    const own = await fetch(`${server.url}/api/model/fedbit-ddpm.json`).then((r) => r.json());
    const raw = await fetch(`${server.url}/api/model/weights.bin`).then((r) => r.arrayBuffer());
    const { config, weights } = importTfjs(own, raw);
    reference = createModel(config, 0);
    reference.setWeights(weights);
    const n = 3;
    const gen = normalFrom(mulberry32(7));
    const shape: [number, number, number, number] = [n, config.imageSize, config.imageSize, config.channels];
    input = { x: Float32Array.from({ length: n * config.imageSize ** 2 * config.channels }, gen), shape, t: [0, 41, 99], label: [3, 9, -1] };
    const eps = reference.predictNoise(tf.tensor4d(input.x, shape), input.t, input.label);
    expected = (await eps.data()) as Float32Array;
    eps.dispose();
    let scale = 0;
    for (const v of expected) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0.1);
    dir = mkdtempSync(join(tmpdir(), 'fedbit-export-'));
  });

  afterAll(async () => {
    reference?.dispose();
    await server?.close();
  });

  it('plain @tensorflow/tfjs loads /api/model with tf.loadGraphModel and one step equals predictNoise within 1e-5', async () => {
    const source = readFileSync(join(REPO_ROOT, 'test/export/plain-tfjs.ts'), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['@tensorflow/tfjs']);

    const first = await denoiseOnce(`${server.url}/api/model`, input);
    console.log(`tf.loadGraphModel vs predictNoise (${tf.getBackend()}): max |diff| ${maxAbsDiff(first.eps, expected).toExponential(2)}`);
    expect(maxAbsDiff(first.eps, expected)).toBeLessThan(1e-5);
    expect(first.leakedTensors).toBe(0);
    const second = await denoiseOnce(`${server.url}/api/model/model.json`, input);
    expect(second.eps).toEqual(first.eps);
  });

  it('the DDIM loop of docs/EXPORT.md runs on the loaded graph model with its own metadata and frees its tensors', async () => {
    const { images, shape, leakedTensors } = await sampleDdim(`${server.url}/api/model/model.json`, 2, 3);
    expect(shape).toEqual([2, 16, 16, 1]);
    expect(images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(leakedTensors).toBe(0);
    // the doc's schedule is the trainer's
    const model = await fetch(`${server.url}/api/model/model.json`).then((r) => r.json());
    expect(model.userDefinedMetadata.fedbit.schedule).toEqual({ kind: 'cosine', steps: 100 });
    expect(makeSchedule({ kind: 'cosine', steps: 100 }).alphaBars[99]).toBeGreaterThan(0);
  });

  it('the safetensors file holds every weight in PyTorch layout, and a NumPy forward pass over it equals predictNoise within 1e-5', async () => {
    const response = await fetch(`${server.url}/api/model/model.safetensors`);
    expect(response.status).toBe(200);
    const path = join(dir, 'model.safetensors');
    writeFileSync(path, new Uint8Array(await response.arrayBuffer()));
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify({ shape: input.shape, x: Array.from(input.x), t: input.t, labels: input.label }));
    if (!hasNumpy) return void console.warn('python3 with numpy is not installed here: the Python check is skipped');
    const run = python(['python/check_step.py', path, join(dir, 'inputs.json'), '--backend', 'numpy']);
    expect(run.stderr).toBe('');
    const { eps } = JSON.parse(run.stdout) as { eps: number[] };
    console.log(`NumPy forward over model.safetensors vs predictNoise: max |diff| ${maxAbsDiff(eps, expected).toExponential(2)}`);
    expect(maxAbsDiff(eps, expected)).toBeLessThan(1e-5);
  });

  it.skipIf(!hasTorch)('PyTorch (python/fedbit_unet.py) runs the same step within 1e-5', () => {
    const run = python(['python/check_step.py', join(dir, 'model.safetensors'), join(dir, 'inputs.json'), '--backend', 'torch']);
    expect(run.status, run.stderr).toBe(0);
    const { eps } = JSON.parse(run.stdout) as { eps: number[] };
    expect(maxAbsDiff(eps, expected)).toBeLessThan(1e-5);
  });

  it.skipIf(!hasNumpy)('python/sample_ddim.py draws a PNG grid from the safetensors with the schedule in its metadata', () => {
    const out = join(dir, 'samples.png');
    const run = python(['python/sample_ddim.py', join(dir, 'model.safetensors'), '--count', '4', '--steps', '3', '--label', '5', '--out', out, '--backend', hasTorch ? 'torch' : 'numpy']);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect([...readFileSync(out).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});
