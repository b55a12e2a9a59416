// `npm run pretrain`: trains the base model that LoRA fine-tuning starts from (issue 15), centrally,
// on some emoji vendors' drawing styles (default apple and google; the personalization demo
// fine-tunes on the others). The recipe of apps/cli/src/scripts/central-anchor.ts: DDPM epsilon
// prediction (Ho et al., arXiv 2006.11239), the project's Adam, cosine learning rate with warm-up,
// weight EMA. Class-conditional on the emoji categories (label dropout 0.1 for classifier-free
// guidance) unless --unconditional.
//
// It checkpoints every --checkpoint-every steps into --work; --resume continues from there (same
// flags required; --write-only writes the base from the checkpoint as it stands). Adam's moments are not in the checkpoint: a resumed run restarts them. At the
// end it writes the base (./pretrained format: manifest.json + weights.f16.bin, the EMA weights)
// into --out, a sample grid into --work, and, when the emoji style classifier is committed, the
// style Fréchet distances of --fid-samples samples into the manifest's figures.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { learningRateAt, WeightEma, type LrScheduleSpec } from '@fedbit/core';
import {
  BASE_FORMAT, BASE_MANIFEST_FILE, BASE_WEIGHTS_FILE, baseFingerprint, createModel, createTrainer, encodeBaseWeights, initBackend,
  resolveModelConfig, sample, type BaseManifest, type DiffusionModel, type ModelConfig, type ModelSize,
} from '@fedbit/diffusion';
import { EMOJI_VENDORS, encodePng, imageGrid, labelsOf, loadDataset, toFloatImages, vendorIndices, vendorSplit } from '@fedbit/datasets/node';
import { UsageError, parseFlags, wholeNumber } from './args';

const REPO = resolve(new URL('../../..', import.meta.url).pathname);

const positive = (name: string, max: number) =>
  z.string().transform(Number).refine((n) => Number.isFinite(n) && n > 0 && n < max, { error: (i) => `expected a number above 0 and below ${max}, got "${String(i.input)}"` }).describe(name);

const FlagsSchema = z.object({
  size: z.enum(['tiny', 'small', 'default'], { message: 'expected tiny, small or default' }),
  steps: wholeNumber(1, 10_000_000),
  batch: wholeNumber(1, 512),
  lr: positive('lr', 1),
  warmup: wholeNumber(0, 10_000_000),
  'lr-floor': z.string().transform(Number).refine((n) => n >= 0 && n <= 1, { error: (i) => `expected a number from 0 to 1, got "${String(i.input)}"` }),
  ema: z.string().transform(Number).refine((n) => n > 0 && n < 1, { error: (i) => `expected a decay above 0 and below 1, got "${String(i.input)}"` }),
  seed: wholeNumber(0, 2 ** 31 - 1),
  vendors: z.string().transform((text, ctx) => {
    const list = text.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = list.filter((v) => !(EMOJI_VENDORS as readonly string[]).includes(v));
    if (list.length === 0 || bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `expected vendors from ${EMOJI_VENDORS.join(', ')}, separated by commas, got "${text}"` });
      return z.NEVER;
    }
    if (new Set(list).size !== list.length) {
      ctx.addIssue({ code: 'custom', message: `expected distinct vendors, got "${text}"` });
      return z.NEVER;
    }
    return list;
  }),
  unconditional: z.boolean(),
  'schedule-steps': wholeNumber(10, 4000),
  out: z.string().min(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected lowercase letters, digits, ".", "_" or "-" (1 to 64 long)').optional(),
  work: z.string().min(1).optional(),
  resume: z.boolean(),
  'write-only': z.boolean(),
  'checkpoint-every': wholeNumber(1, 10_000_000),
  'log-every': wholeNumber(1, 10_000_000),
  'fid-samples': wholeNumber(0, 10_000),
  'sample-steps': wholeNumber(1, 1000),
  backend: z.enum(['wasm', 'cpu'], { message: 'expected wasm or cpu' }),
});
type Flags = z.output<typeof FlagsSchema>;

const HELP = {
  usage: 'npm run pretrain --',
  summary: 'Pretrains the base model for LoRA fine-tuning on emoji drawing styles (32x32 RGB), checkpointing so a killed run resumes; writes <out>/manifest.json and weights.f16.bin.',
  examples: [
    'npm run pretrain -- --size default --steps 4000 --out public/models/emoji-base',
    'npm run pretrain -- --size default --steps 4000 --out public/models/emoji-base --resume   (after a kill: the same flags, plus --resume)',
    'npm run pretrain -- --size tiny --steps 20 --vendors twitter --out /tmp/base --fid-samples 0',
  ],
};

/** The settings a resumed run must share with its checkpoint. */
type Settings = Omit<Flags, 'resume' | 'write-only' | 'checkpoint-every' | 'log-every' | 'fid-samples' | 'sample-steps' | 'backend' | 'work' | 'out'>;

interface CheckpointState {
  format: 'fedbit-pretrain-checkpoint/1';
  step: number;
  settings: Settings;
  config: ModelConfig;
  emaUpdates: number;
  /** The losses of the last 100 steps (the final-loss figure). */
  losses: number[];
  elapsedS: number;
}

function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const f32bytes = (w: Float32Array): Uint8Array => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);

function readF32(path: string, count: number): Float32Array {
  const bytes = readFileSync(path);
  if (bytes.length !== count * 4) throw new Error(`${path}: ${bytes.length} bytes, expected ${count * 4} (${count} float32 weights)`);
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** The images of step s (1-based): each epoch a fresh seeded permutation of the train part, so a resumed run sees the same batches. */
function batchAt(train: Int32Array, batch: number, seed: number, s: number): Int32Array {
  const start = (s - 1) * batch;
  const out = new Int32Array(batch);
  let cachedEpoch = -1;
  let perm: Int32Array = train;
  for (let k = 0; k < batch; k++) {
    const pos = start + k;
    const epoch = Math.floor(pos / train.length);
    if (epoch !== cachedEpoch) {
      perm = Int32Array.from(train);
      let state = (Math.imul(seed, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
      const rand = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      cachedEpoch = epoch;
    }
    out[k] = perm[pos % train.length];
  }
  return out;
}

export async function pretrain(argv: string[], log: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      size: { type: 'string', default: 'default', placeholder: 'tiny|small|default', description: 'model size (default: about 1.06 M parameters at 32x32x3)' },
      steps: { type: 'string', default: '4000', placeholder: 'n', description: 'training steps' },
      batch: { type: 'string', default: '8', placeholder: 'n', description: 'images per step' },
      lr: { type: 'string', default: '0.001', placeholder: 'x', description: 'peak learning rate (Adam)' },
      warmup: { type: 'string', default: '200', placeholder: 'n', description: 'linear learning-rate warm-up steps, then a cosine decay' },
      'lr-floor': { type: 'string', default: '0.1', placeholder: 'x', description: 'the cosine decay ends at this fraction of --lr' },
      ema: { type: 'string', default: '0.999', placeholder: 'decay', description: 'weight EMA decay (the base ships the EMA weights)' },
      seed: { type: 'string', default: '1', placeholder: 'n', description: 'seed of the initial weights, the batches and the noise' },
      vendors: { type: 'string', default: 'apple,google', placeholder: 'list', description: `emoji styles to train on, from ${EMOJI_VENDORS.join(', ')}` },
      unconditional: { type: 'boolean', description: 'ignore the emoji categories (default: class-conditional on them)' },
      'schedule-steps': { type: 'string', default: '200', placeholder: 'n', description: 'diffusion timesteps of the cosine noise schedule' },
      out: { type: 'string', default: 'public/models/emoji-base', placeholder: 'dir', description: 'where the base is written (manifest.json, weights.f16.bin)' },
      name: { type: 'string', placeholder: 'name', description: "the base's name (default: the last part of --out)" },
      work: { type: 'string', placeholder: 'dir', description: 'checkpoints and the sample grid (default results/pretrain/<name>)' },
      resume: { type: 'boolean', description: 'continue from the checkpoint in --work (the other training flags must be the same)' },
      'write-only': { type: 'boolean', description: 'with --resume: write the base from the checkpoint as it stands, without training further (its true step count goes in the manifest)' },
      'checkpoint-every': { type: 'string', default: '250', placeholder: 'n', description: 'steps between checkpoints' },
      'log-every': { type: 'string', default: '50', placeholder: 'n', description: 'steps between progress lines' },
      'fid-samples': { type: 'string', default: '300', placeholder: 'n', description: 'samples for the style Fréchet distances at the end (0 = skip)' },
      'sample-steps': { type: 'string', default: '20', placeholder: 'n', description: 'DDIM steps when sampling the grid and the figures' },
      backend: { type: 'string', default: 'wasm', placeholder: 'wasm|cpu', description: 'tfjs backend' },
    },
    FlagsSchema,
    HELP,
  );
  if (flags === null) return;
  if (flags['write-only'] && !flags.resume) throw new UsageError('--write-only needs --resume (it writes the base from an existing checkpoint)', HELP.usage);
  const out = resolve(flags.out);
  const name = flags.name ?? basename(out);
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new UsageError(`--out ${flags.out}: the base's name "${name}" must be lowercase letters, digits, ".", "_" or "-"; pass --name`, HELP.usage);
  const work = resolve(flags.work ?? join(REPO, 'results', 'pretrain', name));
  const settings: Settings = {
    size: flags.size, steps: flags.steps, batch: flags.batch, lr: flags.lr, warmup: flags.warmup, 'lr-floor': flags['lr-floor'], ema: flags.ema,
    seed: flags.seed, vendors: flags.vendors, unconditional: flags.unconditional, 'schedule-steps': flags['schedule-steps'], ...(flags.name ? { name: flags.name } : {}),
  };
  const statePath = join(work, 'checkpoint.json');
  let resumed: CheckpointState | null = null;
  if (flags.resume) {
    if (!existsSync(statePath)) throw new UsageError(`--resume: no checkpoint at ${statePath}; start without --resume (or pass the --work of the run)`, HELP.usage);
    resumed = JSON.parse(readFileSync(statePath, 'utf8')) as CheckpointState;
    if (resumed.format !== 'fedbit-pretrain-checkpoint/1') throw new UsageError(`--resume: ${statePath} is not a pretrain checkpoint`, HELP.usage);
    const differ = Object.keys({ ...settings, ...resumed.settings }).filter((k) => JSON.stringify((settings as Record<string, unknown>)[k]) !== JSON.stringify((resumed!.settings as Record<string, unknown>)[k]));
    if (differ.length > 0) {
      throw new UsageError(`--resume: the checkpoint in ${work} was made with other settings: ${differ.map((k) => `--${k} ${JSON.stringify((resumed!.settings as Record<string, unknown>)[k])} (now ${JSON.stringify((settings as Record<string, unknown>)[k])})`).join(', ')}; pass the same flags`, HELP.usage);
    }
  } else if (existsSync(statePath)) {
    throw new UsageError(`${work} already holds a checkpoint; pass --resume to continue it, or another --work`, HELP.usage);
  }
  mkdirSync(work, { recursive: true });

  const backend = await initBackend(flags.backend);
  const ds = await loadDataset('emoji');
  vendorIndices(ds, flags.vendors);
  const split = vendorSplit(ds, flags.vendors);
  const numClasses = flags.unconditional ? 0 : (ds.classNames?.length ?? 0);
  const config = resolveModelConfig(flags.size as ModelSize, { imageSize: ds.width, channels: ds.channels, numClasses });
  const schedule = { kind: 'cosine' as const, steps: flags['schedule-steps'] };
  const model = createModel(config, flags.seed);
  const ema = resumed
    ? WeightEma.restore({ decay: flags.ema }, readF32(join(work, 'ema.f32'), model.paramCount), resumed.emaUpdates)
    : new WeightEma({ decay: flags.ema });
  if (resumed) model.setWeights(readF32(join(work, 'weights.f32'), model.paramCount));
  const start = resumed?.step ?? 0;
  // A resumed trainer draws its noise from a stream of its own (seed and step), not the one it would have continued.
  const trainer = createTrainer(model, { learningRate: flags.lr, batchSize: flags.batch, schedule, seed: (flags.seed + Math.imul(start, 7919)) >>> 0 });
  const lrSchedule: LrScheduleSpec = { kind: 'cosine', warmup: flags.warmup, total: flags.steps, floor: flags['lr-floor'] };
  const command = `npm run pretrain -- ${argv.filter((a) => a !== '--resume' && a !== '--write-only').join(' ')}`.trim();
  log(`pretrain "${name}": ${flags.size} model (${model.paramCount.toLocaleString('en')} parameters, ${numClasses > 0 ? `conditional on ${numClasses} categories` : 'unconditional'}), emoji ${ds.width}x${ds.width} RGB, vendors ${flags.vendors.join(', ')}: ${split.train.length} train / ${split.eval.length} held-out images; ${flags.steps} steps of batch ${flags.batch}, lr ${flags.lr} (warm-up ${flags.warmup}, cosine to ${flags['lr-floor']}x), EMA ${flags.ema}, backend ${backend.backend}${resumed ? `; resuming at step ${start}` : ''}`);

  const losses: number[] = resumed ? [...resumed.losses] : [];
  let elapsed = resumed?.elapsedS ?? 0;
  let since = performance.now();
  let windowLoss = 0;
  let windowN = 0;
  const saveCheckpoint = (step: number): void => {
    elapsed += (performance.now() - since) / 1000;
    since = performance.now();
    writeAtomic(join(work, 'weights.f32'), f32bytes(model.getWeights()));
    writeAtomic(join(work, 'ema.f32'), f32bytes(ema.value ?? model.getWeights()));
    const state: CheckpointState = { format: 'fedbit-pretrain-checkpoint/1', step, settings, config, emaUpdates: Math.max(1, ema.updates), losses: losses.slice(-100), elapsedS: elapsed };
    writeAtomic(statePath, JSON.stringify(state, null, 2));
  };
  const last = flags['write-only'] ? start : flags.steps;
  for (let s = start + 1; s <= last; s++) {
    const idx = batchAt(split.train, flags.batch, flags.seed, s);
    trainer.setLearningRate(learningRateAt(flags.lr, lrSchedule, s - 1));
    const loss = await trainer.step({ images: toFloatImages(ds, idx), labels: numClasses > 0 ? labelsOf(ds, idx) : undefined, count: idx.length });
    if (!Number.isFinite(loss)) throw new Error(`step ${s}: the loss is ${loss}; lower --lr (the last checkpoint in ${work} is kept)`);
    losses.push(loss);
    if (losses.length > 100) losses.shift();
    windowLoss += loss;
    windowN++;
    ema.update(model.getWeights());
    if (s % flags['log-every'] === 0 || s === flags.steps) {
      const total = elapsed + (performance.now() - since) / 1000;
      const done = s - start;
      const eta = done > 0 ? ((total - (resumed?.elapsedS ?? 0)) / done) * (flags.steps - s) : 0;
      log(`step ${s}/${flags.steps}  loss ${(windowLoss / windowN).toFixed(4)}  lr ${learningRateAt(flags.lr, lrSchedule, s - 1).toExponential(2)}  ${total.toFixed(0)} s  (eta ${(eta / 60).toFixed(1)} min)`);
      windowLoss = 0;
      windowN = 0;
    }
    if (s % flags['checkpoint-every'] === 0 || s === flags.steps) saveCheckpoint(s);
  }
  if (start >= last) log(`the checkpoint is at step ${start} of ${flags.steps}: writing the base from it`);
  trainer.dispose();

  // The base: the EMA weights (the sampling weights of the recipe), as float16.
  const weights = Float32Array.from(ema.value ?? model.getWeights());
  const bytes = encodeBaseWeights(weights);
  const evalModel = createModel(config, flags.seed);
  model.dispose();
  evalModel.setWeights(weights);
  const figures: Record<string, number> = { finalLoss: round(mean(losses), 5), trainSeconds: Math.round(elapsed), plannedSteps: flags.steps };
  try {
    await sampleGrid(evalModel, ds.classNames ?? [], numClasses, schedule, flags['sample-steps'], join(work, 'samples.png'));
    log(`sample grid: ${join(work, 'samples.png')}`);
    if (flags['fid-samples'] > 0) Object.assign(figures, await styleFigures(evalModel, ds, numClasses, schedule, flags['sample-steps'], flags['fid-samples'], flags.vendors, log));
  } finally {
    evalModel.dispose();
  }
  const manifest: BaseManifest = {
    name,
    format: BASE_FORMAT,
    config,
    dtype: 'float16',
    params: weights.length,
    sha256: baseFingerprint(bytes),
    ema: ema.value !== null,
    training: {
      command,
      seed: flags.seed,
      steps: last,
      batch: flags.batch,
      data: `emoji 32x32 RGB (emoji-datasource-* 16.0.0), vendors ${flags.vendors.join('+')}, train part of vendorSplit (seed 0, ${split.eval.length} held-out images of the same ${split.eval.length / flags.vendors.length} symbols per vendor left out); ${numClasses > 0 ? `class-conditional on ${numClasses} categories` : 'unconditional'}; cosine noise schedule of ${flags['schedule-steps']} steps, epsilon prediction; lr ${flags.lr} cosine (warm-up ${flags.warmup}, floor ${flags['lr-floor']}), EMA ${flags.ema}`,
      vendors: flags.vendors,
      gitCommit: gitCommit(),
      date: new Date().toISOString(),
    },
    figures,
  };
  mkdirSync(out, { recursive: true });
  writeAtomic(join(out, BASE_WEIGHTS_FILE), bytes);
  writeAtomic(join(out, BASE_MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  log(`wrote the base "${name}" (${weights.length.toLocaleString('en')} parameters, ${(bytes.length / 1024 / 1024).toFixed(2)} MiB float16, sha256 ${manifest.sha256.slice(0, 16)}...) to ${out}`);
  log(`figures: ${JSON.stringify(figures)}`);
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

type Schedule = { kind: 'cosine'; steps: number };

/** 8 samples per category (one row each), or 64 unconditional ones, from a fixed seed. */
async function sampleGrid(model: DiffusionModel, classNames: string[], numClasses: number, schedule: Schedule, steps: number, path: string): Promise<void> {
  const rows = numClasses > 0 ? numClasses : 8;
  const count = rows * 8;
  const labels = numClasses > 0 ? Int32Array.from({ length: count }, (_, i) => Math.floor(i / 8)) : undefined;
  const images = await sample(model, { count, sampler: 'ddim', steps, seed: 12345, schedule, labels });
  const size = model.config.imageSize;
  writeFileSync(path, encodePng(imageGrid(images, count, size, size, model.config.channels, { cols: 8, pad: 2, scale: 2 })));
  void classNames;
}

/** The style Fréchet distances of samples against the held-out images of the trained and the other vendors (labels drawn like theirs). */
async function styleFigures(
  model: DiffusionModel, ds: Awaited<ReturnType<typeof loadDataset>>, numClasses: number, schedule: Schedule, steps: number, count: number, vendors: string[],
  log: (line: string) => void,
): Promise<Record<string, number>> {
  let metric: typeof import('./style-fid');
  try {
    metric = await import('./style-fid');
    await metric.loadStyleClassifier();
  } catch (error) {
    log(`style Fréchet distance skipped (${(error as Error).message}); run again with --resume to add it`);
    return {};
  }
  const others = EMOJI_VENDORS.filter((v) => !vendors.includes(v));
  const ref = vendorSplit(ds, vendors).eval;
  const labels = numClasses > 0 ? Int32Array.from({ length: count }, (_, i) => ds.labels[ref[i % ref.length]]) : undefined;
  const per = ds.width * ds.height * ds.channels;
  const generated = new Float32Array(count * per);
  for (let s = 0; s < count; s += 50) {
    const n = Math.min(50, count - s);
    generated.set(await sample(model, { count: n, sampler: 'ddim', steps, seed: 777 + s, schedule, labels: labels?.subarray(s, s + n) }), s * per);
  }
  const figures: Record<string, number> = { fidSamples: count };
  for (const set of [vendors, others]) {
    if (set.length === 0) continue;
    const fid = await metric.styleFid(generated, set.join(','), { count });
    figures[`styleFid_${set.join('_')}`] = round(fid, 3);
    log(`style Fréchet distance (emoji style classifier features, NOT Inception FID) of ${count} samples vs held-out ${set.join('+')}: ${fid.toFixed(3)}`);
  }
  return figures;
}
