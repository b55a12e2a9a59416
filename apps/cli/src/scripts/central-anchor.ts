// The quality anchor: trains the diffusion model CENTRALLY on the MNIST train split for a fixed
// step budget, then reports FID-MNIST (NOT Inception FID: Fréchet distance in our small MNIST
// classifier's feature space, reference = the held-out split) and diversity. Federated runs
// with the same model size, image size and schedule are compared against these numbers.
//
//   npx tsx apps/cli/src/scripts/central-anchor.ts [--size tiny|small|default] [--image-size 16]
//     [--base-channels 12] [--embed-dim 32] (a custom width on the size's levels)
//     [--steps 2000] [--batch 8] [--lr 0.002] [--lr-schedule constant|cosine] [--warmup 0]
//     [--lr-floor 0.1] [--ema 0.999,0.9995] [--prediction eps|v] [--eval-at 1000,2000]
//     [--samples 500] [--sampler ddim|ddpm] [--sample-steps 20[,50]] [--schedule-steps 200]
//     [--seed 1] [--backend wasm|cpu] [--json]
//
// Defaults are the training recipe of docs/RESULTS.md (tiny, 16 px, cosine noise schedule of 200
// steps, batch 8, lr 2e-3 with 200 warm-up steps and a cosine decay to 0.1x, weight EMA 0.999 with
// warm-up, epsilon prediction, DDIM 20 steps, unconditional); --lr-schedule constant --ema ''
// gives the recipe before 2026-11-22. --ema keeps one weight EMA per decay (the recipe's
// sampling weights); every evaluation point (--eval-at, and the last step) scores the raw
// weights and each EMA on the same sampling seeds. With --json each evaluation is one JSON line
// {"step", "weights": "raw" | "ema-<decay>", "fidMnist", "classEntropyBits", ...}; the last line
// is the final evaluation of the best weights, with the run's settings.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { learningRateAt, WeightEma, type LrScheduleSpec } from '@fedbit/core';
import { createModel, createTrainer, initBackend, resolveModelConfig, sample, validateModelConfig, type BackendName, type DiffusionModel, type ModelSize, type Prediction, type SamplerKind } from '@fedbit/diffusion';
import { evaluateQuality, loadMnistClassifier, referenceStats } from '@fedbit/diffusion/metrics';
import { holdout, labelsOf, loadDataset, toFloatImages } from '@fedbit/datasets/node';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'tiny' },
    'image-size': { type: 'string' },
    'base-channels': { type: 'string' },
    'embed-dim': { type: 'string' },
    steps: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.002' },
    'lr-schedule': { type: 'string', default: 'cosine' },
    warmup: { type: 'string', default: '200' },
    'lr-floor': { type: 'string', default: '0.1' },
    ema: { type: 'string', default: '0.999' },
    prediction: { type: 'string', default: 'eps' },
    'eval-at': { type: 'string', default: '' },
    samples: { type: 'string', default: '500' },
    sampler: { type: 'string', default: 'ddim' },
    'sample-steps': { type: 'string', default: '20' },
    'save-weights': { type: 'string' },
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

const size = oneOf<ModelSize>('size', values.size, ['tiny', 'small', 'default']);
const imageSize = oneOf('image-size', values['image-size'] ?? (size === 'default' ? '28' : '16'), ['14', '16', '28'] as const);
const steps = int('steps', values.steps, 1, 10_000_000);
const batch = int('batch', values.batch, 1, 1024);
const lr = Number(values.lr);
if (!(lr > 0 && lr < 1)) throw new Error(`--lr: expected a number in (0, 1), got ${values.lr}`);
const lrSchedule: LrScheduleSpec = {
  kind: oneOf('lr-schedule', values['lr-schedule'], ['constant', 'cosine'] as const),
  warmup: int('warmup', values.warmup, 0, 10_000_000),
  total: steps,
  floor: Number(values['lr-floor']),
};
if (!(lrSchedule.floor! >= 0 && lrSchedule.floor! <= 1)) throw new Error(`--lr-floor: expected a number in [0, 1], got ${values['lr-floor']}`);
const emaDecays = (values.ema ?? '').split(',').filter((v) => v.trim() !== '').map((v) => {
  const d = Number(v);
  if (!(d > 0 && d < 1)) throw new Error(`--ema: expected decays in (0, 1) separated by commas, got ${v}`);
  return d;
});
const prediction = oneOf<Prediction>('prediction', values.prediction, ['eps', 'v']);
const evalAt = new Set((values['eval-at'] ?? '').split(',').filter((v) => v.trim() !== '').map((v) => int('eval-at', v, 1, steps)));
evalAt.add(steps);
const samples = int('samples', values.samples, 16, 100_000);
const sampler = oneOf<SamplerKind>('sampler', values.sampler, ['ddim', 'ddpm']);
const sampleStepsList = (values['sample-steps'] ?? '20').split(',').map((v) => int('sample-steps', v, 1, 10_000));
const sampleSteps = sampleStepsList[0];
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
const named = resolveModelConfig(size, { imageSize: px, channels: 1 });
// --base-channels / --embed-dim: the width study (a custom config on the named size's levels)
const config =
  values['base-channels'] === undefined && values['embed-dim'] === undefined
    ? named
    : validateModelConfig({
        ...named,
        size: 'custom',
        baseChannels: values['base-channels'] === undefined ? named.baseChannels : int('base-channels', values['base-channels'], 4, 256),
        embedDim: values['embed-dim'] === undefined ? named.embedDim : int('embed-dim', values['embed-dim'], 4, 1024),
      });
const model = createModel(config, seed);
const trainer = createTrainer(model, { learningRate: lr, batchSize: batch, schedule, seed, prediction });
const emas = emaDecays.map((decay) => ({ name: `ema-${decay}`, ema: new WeightEma({ decay }) }));
const evalModel = createModel(config, seed);
log(`central anchor: ${config.size === 'custom' ? `${size} levels, base ${config.baseChannels} channels, embedding ${config.embedDim}` : size} model (${model.paramCount.toLocaleString('en')} parameters), ${px}x${px} MNIST, ${split.train.length} train / ${split.eval.length} held-out, ${steps} steps of batch ${batch}, lr ${lr} (${lrSchedule.kind}, warm-up ${lrSchedule.warmup}), ${prediction}-prediction, EMA ${emaDecays.join(', ') || 'none'}, backend ${backend.backend}`);

const classifier = await loadMnistClassifier();
const reference = toFloatImages(ds, split.eval);
const ref = await referenceStats(reference, split.eval.length, px, 1, classifier);
const per = px * px;
let sampleS = 0;
async function evaluate(m: DiffusionModel, sampleSteps: number) {
  const sampleStarted = performance.now();
  const generated = new Float32Array(samples * per);
  const chunk = 100;
  for (let s = 0; s < samples; s += chunk) {
    const n = Math.min(chunk, samples - s);
    generated.set(await sample(m, { count: n, sampler, steps: sampleSteps, seed: seed + 1000 + s, schedule, prediction }), s * per);
  }
  sampleS += (performance.now() - sampleStarted) / 1000;
  return evaluateQuality({ generated, generatedCount: samples, referenceStats: ref, size: px, channels: 1, classifier });
}
type Evaluation = { step: number; weights: string; sampleSteps: number; fidMnist: number; classEntropyBits: number; inceptionScore: number };
const evaluations: Evaluation[] = [];

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
  trainer.setLearningRate(learningRateAt(lr, lrSchedule, s - 1));
  const loss = await trainer.step({ images: toFloatImages(ds, idx), labels: labelsOf(ds, idx), count: idx.length });
  recent += loss;
  if (emas.length > 0) {
    const w = model.getWeights();
    for (const e of emas) e.ema.update(w);
  }
  if (s % Math.max(1, Math.floor(steps / 20)) === 0 || s === steps) {
    const every = Math.max(1, Math.floor(steps / 20));
    log(`step ${s}/${steps}  loss ${(recent / (s % every === 0 ? every : s % every)).toFixed(4)}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
    recent = 0;
  }
  if (evalAt.has(s)) {
    const candidates: Array<[string, Float32Array]> = [['raw', model.getWeights()], ...emas.map((e): [string, Float32Array] => [e.name, e.ema.value as Float32Array])];
    for (const [name, weights] of candidates) {
      evalModel.setWeights(weights);
      for (const k of sampleStepsList) {
        const q = await evaluate(evalModel, k);
        const row = { step: s, weights: name, sampleSteps: k, fidMnist: q.fidMnist, classEntropyBits: q.classEntropyBits, inceptionScore: q.inceptionScore };
        evaluations.push(row);
        log(`  eval @${s} ${name.padEnd(12)} ${String(k).padStart(3)} sampling steps  FID-MNIST ${q.fidMnist.toFixed(2)}  class entropy ${q.classEntropyBits.toFixed(3)} bits  IS ${q.inceptionScore.toFixed(3)}`);
        if (json) console.log(JSON.stringify(row));
      }
    }
    if (s === steps && values['save-weights']) {
      const best = emas.length > 0 ? (emas[0].ema.value as Float32Array) : model.getWeights();
      writeFileSync(values['save-weights'], new Uint8Array(best.buffer, best.byteOffset, best.byteLength));
      log(`  wrote ${emas.length > 0 ? emas[0].name : 'raw'} weights to ${values['save-weights']}`);
    }
  }
}
const wallS = (performance.now() - started) / 1000;
const trainS = wallS - sampleS;

// The same number for the first `half` real held-out digits. They are part of the reference, so this
// is an optimistic floor; it shows the scale, not what a perfect model would score.
const half = Math.min(samples, split.eval.length);
const floor = await evaluateQuality({ generated: reference.subarray(0, half * per), generatedCount: half, referenceStats: ref, size: px, channels: 1, classifier });
classifier.dispose();
trainer.dispose();
model.dispose();
evalModel.dispose();

const last = evaluations.filter((e) => e.step === steps);
const best = last.reduce((a, b) => (b.fidMnist < a.fidMnist ? b : a));
log('');
log(`FID-MNIST at step ${steps} (NOT Inception FID; classifier features, vs ${ref.count} held-out digits): ${last.map((e) => `${e.weights} ${e.fidMnist.toFixed(3)}`).join(', ')}   (${half} held-out digits, themselves in the reference, score ${floor.fidMnist.toFixed(3)})`);
log(`best: ${best.weights}, class entropy of ${samples} samples: ${best.classEntropyBits.toFixed(3)} bits (balanced = ${Math.log2(10).toFixed(3)}), Inception-Score-like ${best.inceptionScore.toFixed(3)} (real held-out: ${floor.inceptionScore.toFixed(3)})`);
log(`train ${trainS.toFixed(1)} s (${((trainS / steps) * 1000).toFixed(0)} ms/step), sampling ${sampleS.toFixed(1)} s, total ${wallS.toFixed(1)} s`);
if (json) {
  console.log(JSON.stringify({
    fidMnist: best.fidMnist, classEntropyBits: best.classEntropyBits, inceptionScore: best.inceptionScore, weights: best.weights, steps, wallS,
    size, imageSize: px, batch, learningRate: lr, lrSchedule, ema: emaDecays, prediction, samples, sampler, sampleSteps, schedule, seed, backend: backend.backend,
    realFidMnist: floor.fidMnist, realInceptionScore: floor.inceptionScore, trainS, sampleS, evaluations,
  }));
}
