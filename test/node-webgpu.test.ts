// WebGPU in plain Node (the optional npm `webgpu` package, Dawn) on SwiftShader, Chromium's
// software Vulkan driver: initBackend('webgpu') works in Node (issue 11's isNode bug), and a
// training step of the tiny model asks little of the GPU: at most 10 uploads of CPU-side data
// (from 711 with tf.train.adam and per-call constants) and at most half the dispatches (from
// 2,324), counted at the WebGPU API, with the losses of main's code before the change to 1e-5
// relative; the fused GroupNorm + SiLU kernels, the one-kernel bias gradients and the fused Adam
// agree with the unfused ops to 1e-5. Skipped without the `webgpu` package or Chromium's SwiftShader, or with FEDBIT_SKIP_E2E=1.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD, SWIFTSHADER_LIB_DIR } from '../packages/diffusion/src/node-webgpu';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const hasWebgpu = (() => {
  try {
    createRequire(join(root, 'packages/diffusion/package.json')).resolve('webgpu');
    return true;
  } catch {
    return false;
  }
})();
const skip = process.env.FEDBIT_SKIP_E2E === '1' || !hasWebgpu || !existsSync(SWIFTSHADER_ICD);

// Measured with main's code (commit 846dc06 plus only the isNode fix and the counters):
// `npm run bench:train -- --backend webgpu --sizes tiny --json` on SwiftShader.
const BEFORE = { losses: [1.0006078481674194, 0.9521283507347107, 1.0195817947387695], dispatchesPerStep: 2324, uploadsPerStep: 711 };

interface ChildResult {
  fusedNorm: number;
  fusedBias: number;
  fusedAdam: number;
  info: { backend: string; adapter?: { vendor: string; architecture: string } };
  losses: number[];
  steps: number;
  counts: { dispatches: number; uploads: number; mappedUploads: number };
  tensorGrowth: number;
}

function runChild(steps: number): Promise<ChildResult> {
  const env = { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER_ICD, LD_LIBRARY_PATH: [SWIFTSHADER_LIB_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), join(here, 'node-webgpu-step.ts'), String(steps)], { cwd: root, env, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ChildResult);
      } catch {
        reject(new Error(`no JSON from the child: ${stdout}\n${stderr}`));
      }
    });
  });
}

describe.skipIf(skip)('WebGPU in Node (Dawn on SwiftShader)', () => {
  it('trains with at most 10 uploads and half the dispatches per step, and the losses of before', async () => {
    const out = await runChild(3);
    console.log(`node webgpu ${JSON.stringify(out.info.adapter)}: losses ${out.losses.join(', ')}; per step ${out.counts.dispatches / out.steps} dispatches, ${out.counts.uploads / out.steps} uploads; fused GroupNorm + SiLU vs unfused ${out.fusedNorm.toExponential(1)}, bias gradients ${out.fusedBias.toExponential(1)}, fused Adam ${out.fusedAdam.toExponential(1)}`);
    expect(out.info.backend).toBe('webgpu');
    expect(out.fusedNorm).toBeLessThan(1e-5);
    expect(out.fusedBias).toBeLessThan(1e-5);
    expect(out.fusedAdam).toBeLessThan(1e-5);
    expect(out.losses).toHaveLength(BEFORE.losses.length);
    out.losses.forEach((l, i) => expect(Math.abs(l - BEFORE.losses[i]) / BEFORE.losses[i]).toBeLessThan(1e-5));
    expect(out.counts.uploads / out.steps).toBeLessThanOrEqual(10);
    expect(out.counts.mappedUploads).toBe(0);
    expect(out.counts.dispatches / out.steps).toBeLessThanOrEqual(BEFORE.dispatchesPerStep / 2);
    expect(out.tensorGrowth).toBe(0);
  });
});
