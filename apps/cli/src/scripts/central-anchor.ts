// The quality anchor: trains the diffusion model CENTRALLY on the MNIST train split for a fixed
// step budget, then reports FID-MNIST (NOT Inception FID: Fréchet distance in our small MNIST
// classifier's feature space, reference = the held-out split) and diversity. Federated runs
// with the same model size, image size and schedule are compared against these numbers.
//
//   npx tsx apps/cli/src/scripts/central-anchor.ts [--size tiny|default] [--image-size 16]
//     [--steps 2000] [--batch 8] [--lr 0.002] [--samples 500] [--sampler ddim|ddpm]
//     [--sample-steps 20] [--schedule-steps 200] [--seed 1] [--backend wasm|cpu] [--json]
//
// Defaults match the server's run defaults (tiny, 16 px, cosine schedule of 200 steps, batch 8,
// lr 2e-3, DDIM 20 steps, unconditional). With --json the last line is
// {"fidMnist", "classEntropyBits", "inceptionScore", "steps", "wallS", ...}.
import { parseArgs } from 'node:util';
import { createModel, createTrainer, initBackend, resolveModelConfig, sample, type BackendName, type ModelSize, type SamplerKind } from '@fedbit/diffusion';
import { evaluateQuality, loadMnistClassifier, referenceStats } from '@fedbit/diffusion/metrics';
import { holdout, labelsOf, loadDataset, toFloatImages } from '@fedbit/datasets/node';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'tiny' },
    'image-size': { type: 'string' },
    steps: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.002' },
    samples: { type: 'string', default: '500' },
    sampler: { type: 'string', default: 'ddim' },
    'sample-steps': { type: 'string', default: '20' },
    'schedule-steps': { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

function int(name: string, raw: string | undefined, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name}: expected an integer in ${min}..${max}, got ${raw}`);
  return v;
}
function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T {
  if (!allowed.includes(raw as T)) throw new Error(`--${name}: expected ${allowed.join(' or ')}, got ${raw}`);
  return raw as T;
}

const size = oneOf<ModelSize>('size', values.size, ['tiny', 'default']);
const imageSize = oneOf('image-size', values['image-size'] ?? (size === 'tiny' ? '16' : '28'), ['14', '16', '28'] as const);
const steps = int('steps', values.steps, 1, 10_000_000);
const batch = int('batch', values.batch, 1, 1024);
const lr = Number(values.lr);
if (!(lr > 0 && lr < 1)) throw new Error(`--lr: expected a number in (0, 1), got ${values.lr}`);
const samples = int('samples', values.samples, 16, 100_000);
const sampler = oneOf<SamplerKind>('sampler', values.sampler, ['ddim', 'ddpm']);
const sampleSteps = int('sample-steps', values['sample-steps'], 1, 10_000);
const scheduleSteps = int('schedule-steps', values['schedule-steps'], 10, 4000);
const seed = int('seed', values.seed, 0, 2 ** 31 - 1);
const backendName = values.backend === undefined ? undefined : oneOf<BackendName>('backend', values.backend, ['wasm', 'cpu']);
const json = values.json === true;
const log = (line: string): void => {
  if (json) process.stderr.write(line + '\n');
  else console.log(line);
};

const px = Number(imageSize);
const backend = await initBackend(backendName);
const ds = await loadDataset('mnist', { size: px });
const split = holdout(ds, { seed: 0 }); // the same split the server and devices use
const schedule = { kind: 'cosine' as const, steps: scheduleSteps };
const config = resolveModelConfig(size, { imageSize: px, channels: 1 });
const model = createModel(config, seed);
const trainer = createTrainer(model, { learningRate: lr, batchSize: batch, schedule, seed });
log(`central anchor: ${size} model, ${px}x${px} MNIST, ${split.train.length} train / ${split.eval.length} held-out, ${steps} steps of batch ${batch}, lr ${lr}, backend ${backend.backend}`);

let state = (seed ^ 0xa5a5a5) >>> 0;
const rand = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);
const started = performance.now();
let order = Int32Array.from(split.train);
let cursor = order.length;
let recent = 0;
for (let s = 1; s <= steps; s++) {
  if (cursor + batch > order.length) {
    order = Int32Array.from(split.train);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    cursor = 0;
  }
  const idx = order.subarray(cursor, cursor + batch);
  cursor += batch;
  const loss = await trainer.step({ images: toFloatImages(ds, idx), labels: labelsOf(ds, idx), count: idx.length });
  recent += loss;
  if (s % Math.max(1, Math.floor(steps / 20)) === 0 || s === steps) {
    const every = Math.max(1, Math.floor(steps / 20));
    log(`step ${s}/${steps}  loss ${(recent / (s % every === 0 ? every : s % every)).toFixed(4)}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
    recent = 0;
  }
}
const trainS = (performance.now() - started) / 1000;

const sampleStarted = performance.now();
const per = px * px;
const generated = new Float32Array(samples * per);
const chunk = 100;
for (let s = 0; s < samples; s += chunk) {
  const n = Math.min(chunk, samples - s);
  generated.set(await sample(model, { count: n, sampler, steps: sampleSteps, seed: seed + 1000 + s, schedule }), s * per);
}
const sampleS = (performance.now() - sampleStarted) / 1000;

const classifier = await loadMnistClassifier();
const reference = toFloatImages(ds, split.eval);
const ref = await referenceStats(reference, split.eval.length, px, 1, classifier);
const quality = await evaluateQuality({ generated, generatedCount: samples, referenceStats: ref, size: px, channels: 1, classifier });
// The same number for the first `half` real held-out digits. They are part of the reference, so this
// is an optimistic floor; it shows the scale, not what a perfect model would score.
const half = Math.min(samples, split.eval.length);
const floor = await evaluateQuality({ generated: reference.subarray(0, half * per), generatedCount: half, referenceStats: ref, size: px, channels: 1, classifier });
const wallS = (performance.now() - started) / 1000;
classifier.dispose();
trainer.dispose();
model.dispose();

log('');
log(`FID-MNIST (NOT Inception FID; classifier features, vs ${ref.count} held-out digits): ${quality.fidMnist.toFixed(3)}   (${half} held-out digits, themselves in the reference, score ${floor.fidMnist.toFixed(3)})`);
log(`class entropy of ${samples} samples: ${quality.classEntropyBits.toFixed(3)} bits (balanced = ${Math.log2(10).toFixed(3)})`);
log(`Inception-Score-like exp(E KL(p(y|x)||p(y))): ${quality.inceptionScore.toFixed(3)} (real held-out: ${floor.inceptionScore.toFixed(3)})`);
log(`train ${trainS.toFixed(1)} s (${((trainS / steps) * 1000).toFixed(0)} ms/step), sampling ${sampleS.toFixed(1)} s, total ${wallS.toFixed(1)} s`);
if (json) {
  console.log(JSON.stringify({
    fidMnist: quality.fidMnist, classEntropyBits: quality.classEntropyBits, inceptionScore: quality.inceptionScore, steps, wallS,
    size, imageSize: px, batch, learningRate: lr, samples, sampler, sampleSteps, schedule, seed, backend: backend.backend,
    realFidMnist: floor.fidMnist, realInceptionScore: floor.inceptionScore, trainS, sampleS,
  }));
}
