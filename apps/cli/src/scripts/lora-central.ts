// Central fine-tuning of the shipped emoji base on the styles it never saw (issue 15): what the
// adapters (FFA-LoRA, Sun et al., arXiv 2403.12313; FedIT-style A and B, or LoRA at any rank) or
// full fine-tuning can do with all the new-style training images in one place, no federation.
// It is the reference the federated runs of `npm run experiment -- --preset lora` are read
// against: if central training cannot lower the style Fréchet distance, no round engine will.
//
// It trains one mode for --steps steps of batch --batch on the train part of the new styles
// (vendorSplit, the held-out symbols never seen) and, at each step count of --eval-at, draws
// --samples class-conditional samples with one fixed noise (so every point, and the base at step
// 0, is drawn with the same noise and labels) and prints the style Fréchet distance against the
// held-out images of those styles (NOT the Inception FID; packages/diffusion/src/metrics/style.ts),
// and the held-out denoising loss on those images with the noise fixed (metrics/denoising-loss.ts,
// the seed the lora experiment uses).
//
//   npx tsx apps/cli/src/scripts/lora-central.ts --mode ffa-lora --rank 4 --lr 2e-3 --steps 400 --eval-at 0,100,200,400 --samples 200 [--json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { learningRateAt, type LrScheduleSpec } from '@fedbit/core';
import { attachLora, createModel, createTrainer, initBackend, sample, type DiffusionModel, type LoraModel } from '@fedbit/diffusion';
import { denoisingLoss } from '@fedbit/diffusion/metrics';
import { loadPretrainedBase, styleFid, styleReferenceImages } from '@fedbit/diffusion/node';
import { encodePng, imageGrid, labelsOf, loadDataset, toFloatImages, vendorSplit } from '@fedbit/datasets/node';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'emoji-base' },
    mode: { type: 'string', default: 'ffa-lora' },
    rank: { type: 'string', default: '4' },
    'base-bits': { type: 'string', default: '8' },
    lr: { type: 'string', default: '2e-3' },
    warmup: { type: 'string', default: '0' },
    steps: { type: 'string', default: '400' },
    batch: { type: 'string', default: '8' },
    vendors: { type: 'string', default: 'twitter,facebook' },
    'eval-at': { type: 'string', default: '0,100,200,400' },
    samples: { type: 'string', default: '200' },
    'sample-steps': { type: 'string', default: '20' },
    'draw-seed': { type: 'string', default: '777' },
    seed: { type: 'string', default: '1' },
    targets: { type: 'string', default: 'conv,dense' },
    grid: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const num = (name: string, ok: (n: number) => boolean, expected: string): number => {
  const n = Number(values[name as keyof typeof values]);
  if (!ok(n)) throw new Error(`--${name}: expected ${expected}, got ${String(values[name as keyof typeof values])}`);
  return n;
};
const whole = (n: number) => Number.isInteger(n) && n >= 0;
const mode = values.mode!;
if (!['ffa-lora', 'fedit', 'full'].includes(mode)) throw new Error(`--mode: expected ffa-lora, fedit or full, got ${mode}`);
const rank = num('rank', (n) => whole(n) && n >= 1 && n <= 256, 'a whole number from 1 to 256');
const baseBits = num('base-bits', (n) => whole(n) && n >= 2 && n <= 32, 'a whole number from 2 to 32');
const lr = num('lr', (n) => n > 0 && n < 1, 'a learning rate above 0 and below 1');
const warmup = num('warmup', whole, 'a whole number of steps');
const steps = num('steps', (n) => whole(n) && n >= 1, 'a whole number of steps');
const batch = num('batch', (n) => whole(n) && n >= 1 && n <= 256, 'a batch size from 1 to 256');
const samples = num('samples', (n) => whole(n) && n !== 1, 'at least 2 samples, or 0 to skip the Fréchet distance');
const sampleSteps = num('sample-steps', (n) => whole(n) && n >= 1 && n <= 200, 'DDIM steps from 1 to 200');
const drawSeed = num('draw-seed', whole, 'a whole number');
const seed = num('seed', whole, 'a whole number');
const evalAt = values['eval-at']!.split(',').map(Number);
if (evalAt.some((n) => !whole(n) || n > steps)) throw new Error(`--eval-at: expected step counts from 0 to --steps (${steps}), separated by commas, got ${values['eval-at']}`);
const targets = values.targets!.split(',').filter(Boolean);

await initBackend('wasm');
const pretrained = await loadPretrainedBase(values.base!);
const { config } = pretrained.manifest;
const schedule = { kind: 'cosine' as const, steps: 200 }; // npm run pretrain's schedule (the manifest's training.data names it)
const ds = await loadDataset('emoji');
const split = vendorSplit(ds, values.vendors!.split(','));
const reference = await styleReferenceImages(values.vendors!);
const labels = Int32Array.from({ length: samples }, (_, i) => reference.labels[i % reference.count]);

const model = createModel(config, seed);
model.setWeights(pretrained.weights);
let lora: LoraModel | null = null;
if (mode !== 'full') lora = attachLora(model, { rank, method: mode as 'ffa-lora' | 'fedit', seed, targets, baseBits });
else if (baseBits < 32) throw new Error('--mode full trains the base itself: pass --base-bits 32');
const trainer = createTrainer(lora ?? model, { learningRate: lr, batchSize: batch, schedule, seed });
const lrSchedule: LrScheduleSpec = { kind: 'cosine', warmup, total: steps, floor: 1 };

const drawModel: DiffusionModel = createModel(config, seed);
async function score(step: number): Promise<{ step: number; fid: number | null; heldOutLoss: number; drawS: number }> {
  const started = performance.now();
  drawModel.setWeights(lora ? lora.effectiveWeights() : model.getWeights());
  const heldOutLoss = await denoisingLoss(drawModel, reference.images, reference.count, reference.labels, { schedule, seed: 4242 });
  if (samples === 0) return { step, fid: null, heldOutLoss, drawS: (performance.now() - started) / 1000 };
  const per = config.imageSize * config.imageSize * config.channels;
  const drawn = new Float32Array(samples * per);
  for (let s = 0; s < samples; s += 50) {
    const n = Math.min(50, samples - s);
    drawn.set(await sample(drawModel, { count: n, sampler: 'ddim', steps: sampleSteps, seed: drawSeed + s, schedule, labels: labels.subarray(s, s + n) }), s * per);
  }
  if (values.grid) writeFileSync(values.grid.replace(/\.png$/, `-${step}.png`), encodePng(imageGrid(drawn, Math.min(samples, 64), 32, 32, 3, { cols: 8, pad: 2, scale: 2 })));
  const fid = await styleFid(drawn, values.vendors!, { count: samples });
  return { step, fid, heldOutLoss, drawS: (performance.now() - started) / 1000 };
}

const points: { step: number; fid: number | null; heldOutLoss: number; loss: number | null }[] = [];
const fmt = (fid: number | null) => (fid === null ? '-' : fid.toFixed(2));
const label = `${mode}${mode === 'full' ? '' : ` r${rank}`} lr ${lr}`;
let windowLoss = 0;
let windowN = 0;
let trainS = 0;
if (evalAt.includes(0)) {
  const p = await score(0);
  points.push({ step: 0, fid: p.fid, heldOutLoss: p.heldOutLoss, loss: null });
  console.error(`${label}  step 0  style Fréchet ${fmt(p.fid)}  held-out loss ${p.heldOutLoss.toFixed(5)}  (scored in ${p.drawS.toFixed(0)} s)`);
}
for (let s = 1; s <= steps; s++) {
  const idx = Int32Array.from({ length: batch }, (_, k) => split.train[(((s - 1) * batch + k) * 2654435761 + seed) % split.train.length >>> 0]);
  trainer.setLearningRate(learningRateAt(lr, lrSchedule, s - 1));
  const t0 = performance.now();
  const loss = await trainer.step({ images: toFloatImages(ds, idx), labels: labelsOf(ds, idx), count: batch });
  trainS += (performance.now() - t0) / 1000;
  windowLoss += loss;
  windowN++;
  if (evalAt.includes(s)) {
    const p = await score(s);
    points.push({ step: s, fid: p.fid, heldOutLoss: p.heldOutLoss, loss: windowLoss / windowN });
    console.error(`${label}  step ${s}  loss ${(windowLoss / windowN).toFixed(4)}  style Fréchet ${fmt(p.fid)}  held-out loss ${p.heldOutLoss.toFixed(5)}  (train ${trainS.toFixed(0)} s, scored in ${p.drawS.toFixed(0)} s)`);
    windowLoss = 0;
    windowN = 0;
  }
}
trainer.dispose();
lora?.dispose();
model.dispose();
drawModel.dispose();
const result = { base: values.base, mode, rank: mode === 'full' ? null : rank, baseBits: mode === 'full' ? 32 : baseBits, lr, warmup, batch, steps, targets, samples, sampleSteps, drawSeed, seed, vendors: values.vendors, trainS: Math.round(trainS), points };
if (values.json) console.log(JSON.stringify(result));
else for (const p of points) console.log(`${label}\tstep ${p.step}\tFréchet ${fmt(p.fid)}\theld-out loss ${p.heldOutLoss.toFixed(5)}`);
