// A sample grid of a pretrained base (public/models/<name>/): one row per emoji category (8
// samples each, a fixed seed) for a class-conditional base, 64 samples otherwise; optionally
// with classifier-free guidance (Ho & Salimans, arXiv 2207.12598). Also prints the held-out real
// images of the same categories as a grid, for comparison.
//
//   npx tsx apps/cli/src/scripts/base-samples.ts [--base emoji-base] [--dir public/models] [--guidance 0] [--steps 20] [--seed 12345] --out grid.png [--real real.png]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createModel, initBackend, sample } from '@fedbit/diffusion';
import { loadPretrainedBase, MODELS_DIR, styleReferenceImages } from '@fedbit/diffusion/node';
import { encodePng, imageGrid } from '@fedbit/datasets';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'emoji-base' },
    dir: { type: 'string', default: MODELS_DIR },
    guidance: { type: 'string', default: '0' },
    steps: { type: 'string', default: '20' },
    seed: { type: 'string', default: '12345' },
    out: { type: 'string' },
    real: { type: 'string' },
  },
  strict: true,
});
const guidance = Number(values.guidance);
if (!(guidance >= 0 && guidance <= 20)) throw new Error(`--guidance: expected a number from 0 to 20, got ${values.guidance}`);
const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new Error(`--steps: expected a whole number from 1 to 1000, got ${values.steps}`);
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: expected a whole number >= 0, got ${values.seed}`);
if (!values.out) throw new Error('--out <file.png> is required');

await initBackend('wasm');
const base = await loadPretrainedBase(values.base!, values.dir);
const { config } = base.manifest;
const model = createModel(config, 0);
model.setWeights(base.weights);
const rows = config.numClasses > 0 ? config.numClasses : 8;
const count = rows * 8;
const labels = config.numClasses > 0 ? Int32Array.from({ length: count }, (_, i) => Math.floor(i / 8)) : undefined;
const started = performance.now();
const images = await sample(model, { count, sampler: 'ddim', steps, seed, schedule: { kind: 'cosine', steps: 200 } /* npm run pretrain's default schedule (the manifest's training.data names it) */, labels, guidance: labels ? guidance : 0 });
model.dispose();
const size = config.imageSize;
writeFileSync(values.out, encodePng(imageGrid(images, count, size, size, config.channels, { cols: 8, pad: 2, scale: 2 })));
console.log(`${values.out}: ${count} samples of "${values.base}" (${steps} DDIM steps, guidance ${guidance}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (values.real) {
  // 8 held-out real images per category of the vendors the base was trained on
  const ref = await styleReferenceImages(base.manifest.training.vendors.join(','));
  const per = size * size * config.channels;
  const out = new Float32Array(count * per).fill(1);
  const filled = new Array<number>(rows).fill(0);
  const nv = base.manifest.training.vendors.length;
  const perVendor = ref.count / nv; // the vendors' held-out parts hold the same symbols: interleave them
  for (let k = 0; k < ref.count; k++) {
    const i = (k % nv) * perVendor + Math.floor(k / nv);
    const row = config.numClasses > 0 ? ref.labels[i] : Math.floor(i / 8) % rows;
    if (row >= rows || filled[row] >= 8) continue;
    out.set(ref.images.subarray(i * per, (i + 1) * per), (row * 8 + filled[row]) * per);
    filled[row]++;
  }
  writeFileSync(values.real, encodePng(imageGrid(out, count, size, size, config.channels, { cols: 8, pad: 2, scale: 2 })));
  console.log(`${values.real}: held-out real images of ${base.manifest.training.vendors.join('+')}, the same rows`);
}
