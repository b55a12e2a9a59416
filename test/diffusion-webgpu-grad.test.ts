// Real-browser check of @fedbit/diffusion on WebGPU (SwiftShader in headless Chromium): the
// forward-convolution gradients of conv2dTrainable and upsample2x agree with tfjs-backend-webgpu's
// built-in gradients (and, where the page has WebGL, tfjs-backend-webgl's), and a tiny-model training step gives a finite loss. Skipped when there is no
// Chromium (CHROMIUM_PATH or /usr/bin/chromium), when FEDBIT_SKIP_E2E=1, or when the page gets no
// WebGPU adapter.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = process.env.FEDBIT_SKIP_E2E === '1' || !existsSync(chromium);
const here = dirname(fileURLToPath(import.meta.url));

const PAGE_ENTRY = `
import * as tf from '@tensorflow/tfjs-core';
import { conv2dTrainable, createModel, createTrainer, initBackend, resolveModelConfig, upsample2x } from '../packages/diffusion/src/index';

function det(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 0.9;
  return tf.tensor(v, shape);
}
async function maxDiff(a, b) {
  const d = tf.max(tf.abs(tf.sub(a, b)));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}
async function maxAbs(a) {
  const d = tf.max(tf.abs(a));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

window.runChecks = async () => {
  let info;
  try {
    info = await initBackend('webgpu');
  } catch (e) {
    return { skipped: String(e) };
  }
  const cases = [
    { x: [2, 6, 6, 3], k: 3, co: 4, stride: 1 },
    { x: [2, 8, 8, 2], k: 3, co: 3, stride: 2 },
    { x: [3, 7, 5, 2], k: 3, co: 2, stride: 2 },
    { x: [2, 5, 5, 3], k: 1, co: 2, stride: 1 },
  ];
  const convs = [];
  for (const backend of ['webgpu', 'webgl']) {
  try {
    await initBackend(backend);
  } catch (e) {
    convs.push({ case: backend + ' unavailable', dx: 0, dw: 0, scale: 1 });
    continue;
  }
  for (const c of cases) {
    const x = det(c.x, 1), w = det([c.k, c.k, c.x[3], c.co], 2);
    const ho = Math.ceil(c.x[1] / c.stride), wo = Math.ceil(c.x[2] / c.stride);
    const r = det([c.x[0], ho, wo, c.co], 3);
    const g = (mode) => tf.grads((xi, wi) => tf.sum(tf.mul(conv2dTrainable(xi, wi, c.stride, mode), r)))([x, w]);
    const [dxB, dwB] = g('builtin');
    const [dxC, dwC] = g('custom');
    convs.push({ case: backend + ' ' + JSON.stringify(c), dx: await maxDiff(dxB, dxC), dw: await maxDiff(dwB, dwC), scale: await maxAbs(dwB) });
    tf.dispose([x, w, r, dxB, dwB, dxC, dwC]);
  }
  }
  await initBackend('webgpu');
  const ux = det([2, 3, 4, 2], 4);
  const ur = det([2, 6, 8, 2], 5);
  const du = tf.grad((xi) => tf.sum(tf.mul(upsample2x(xi), ur)))(ux);
  const duRef = tf.grad((xi) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(xi, [6, 8]), ur)))(ux);
  const upsample = await maxDiff(du, duRef);

  const model = createModel(resolveModelConfig('tiny', { imageSize: 16, channels: 1 }), 0);
  const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: 2, schedule: { kind: 'cosine', steps: 100 }, seed: 0 });
  const images = new Float32Array(2 * 16 * 16).map((_, i) => (i % 7) / 7);
  const losses = [];
  const t0 = performance.now();
  for (let i = 0; i < 2; i++) losses.push(await trainer.step({ images, count: 2 }));
  const msPerStep = (performance.now() - t0) / 2;
  trainer.dispose();
  model.dispose();
  return { info, convs, upsample, losses, msPerStep };
};
window.pageReady = true;
`;

describe.skipIf(skip)('diffusion on WebGPU in Chromium', () => {
  let server: Server;
  let url = '';
  let browser: import('playwright-core').Browser | undefined;

  beforeAll(async () => {
    const { build } = await import('esbuild');
    const bundle = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: here, loader: 'js', sourcefile: 'webgpu-grad-page.js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'error',
    });
    const js = bundle.outputFiles[0].contents;
    const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>';
    server = createServer((req, res) => {
      if (req.url === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(js);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(html);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://localhost:${(server.address() as AddressInfo).port}/`;
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({
      executablePath: chromium,
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--headless', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('custom conv/upsample gradients match webgpu built-ins and a training step runs', async (ctx) => {
    const page = await browser!.newPage();
    page.on('pageerror', (e) => console.error('[page]', e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { pageReady?: boolean }).pageReady === true);
    const out = (await page.evaluate(() => (window as unknown as { runChecks: () => Promise<unknown> }).runChecks())) as {
      skipped?: string;
      info: { backend: string; adapter?: { vendor: string; architecture: string } };
      convs: { case: string; dx: number; dw: number; scale: number }[];
      upsample: number;
      losses: number[];
      msPerStep: number;
    };
    await page.close();
    if (out.skipped) {
      console.warn(`no WebGPU in this Chromium: ${out.skipped}`);
      ctx.skip();
      return;
    }
    console.log(`webgpu adapter ${JSON.stringify(out.info.adapter)}; tiny batch-2 step ${out.msPerStep.toFixed(0)} ms`);
    expect(out.info.backend).toBe('webgpu');
    console.log(out.convs.map((c) => `${c.case}: |ddx| ${c.dx.toExponential(1)}, |ddw| ${c.dw.toExponential(1)}`).join('\n'));
    for (const c of out.convs) {
      expect(c.scale, c.case).toBeGreaterThan(0.1);
      expect(c.dx, c.case).toBeLessThan(1e-4);
      expect(c.dw, c.case).toBeLessThan(1e-4);
    }
    expect(out.upsample).toBeLessThan(1e-5);
    for (const l of out.losses) expect(Number.isFinite(l)).toBe(true);
  });
});
