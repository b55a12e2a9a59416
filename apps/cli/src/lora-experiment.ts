// `npm run experiment -- --preset lora`: federated fine-tuning of a base model on styles it did not
// see (Huang et al., arXiv 2307.07146): the same devices, rounds and seed train the full model,
// FFA-LoRA adapters (Sun et al., arXiv 2403.12313) and FedIT adapters (Zhang et al., arXiv
// 2305.05644), beside the base alone; a table of uplink and downlink bytes, modelled energy and a
// Fréchet distance on the held-out images of the devices' styles, and one JSON line with --json.
//
// Every run starts from the shipped pretrained base (public/models/emoji-base: apple and google
// emoji at 32x32, class-conditional on 9 categories): LoRA runs hold it frozen, full fine-tuning
// starts from it (model.init). The quality is the style Fréchet distance (NOT Inception FID:
// the features of the project's emoji style classifier) against held-out twitter and facebook
// emoji, the styles the devices hold and the base never saw.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { ModelHost, REPO_ROOT, RunStore, resolveRunConfig, type RunConfig, type RunConfigInput } from '@fedbit/server';
import { UsageError } from './args';
import { formatBytes } from './report';
import { mean, sd } from './seed-stats';
import { styleFid, styleReferenceImages } from './style-fid';
import { pool, runVariant } from './variants';

export const LORA_BASE = 'emoji-base';
/** The devices' styles: the held-out images of these are the Fréchet distance's reference. */
const NEW_STYLES = ['twitter', 'facebook'];

/** The fleet and training the four runs share; `rounds` may be cut with --rounds for a short check. */
export const LORA_PRESET = {
  devices: 4,
  rounds: 10,
  seed: 1,
  about: (rounds: number) =>
    `the shipped base 'emoji-base' (default U-Net, 1,060,451 parameters, apple+google emoji at 32x32, class-conditional on 9 categories) fine-tuned on the twitter and facebook styles it never saw, split by style over 4 devices (partition 'vendor', non-IID), ${rounds} rounds of 4 devices x 10 local steps of batch 8, fixed 8-bit uploads unless the run names another policy`,
  config: {
    devicesPerRound: 4,
    quorum: 2,
    localSteps: 10,
    batchSize: 8,
    learningRate: 2e-3,
    emaDecay: 0.9,
    deadlineS: 1800,
    reproducible: true,
    policy: { kind: 'fixed', bits: 8 },
    dataset: { name: 'emoji', imageSize: 32, partition: 'vendor', shards: 2, groups: NEW_STYLES },
    // The base's own: class-conditional, cosine schedule of 200 steps (the base's config replaces the size).
    model: { size: 'default', classConditional: true, schedule: { kind: 'cosine', steps: 200 } },
    // Plain conditional drawing (no guidance), as the base's own figures in its manifest were drawn.
    eval: { every: 0, final: false, samples: 200, steps: 20, guidance: 0 },
  } satisfies RunConfigInput,
};

type RunSpec = { lora: RunConfigInput['lora'] | null; init?: string; policy?: RunConfigInput['policy']; learningRate?: number };
const RUNS: Record<string, RunSpec> = {
  full: { lora: null, init: LORA_BASE },
  'ffa-lora': { lora: { base: LORA_BASE, rank: 4, method: 'ffa-lora' } },
  'fedit-lora': { lora: { base: LORA_BASE, rank: 4, method: 'fedit' } },
};
/**
 * --sweep: FFA-LoRA's adapters uploaded at fixed 32 and fixed 4 bits and at the on-demand policy's
 * choice, and at five times the preset's learning rate (adapters usually take a larger one).
 */
const SWEEP_RUNS: Record<string, RunSpec> = {
  'ffa-lora-fixed-32': { ...RUNS['ffa-lora'], policy: { kind: 'fixed', bits: 32 } },
  'ffa-lora-fixed-4': { ...RUNS['ffa-lora'], policy: { kind: 'fixed', bits: 4 } },
  'ffa-lora-on-demand': { ...RUNS['ffa-lora'], policy: { kind: 'on-demand' } },
  'ffa-lora-lr-1e-2': { ...RUNS['ffa-lora'], learningRate: 1e-2 },
};
/** Runs only --runs names: FFA-LoRA with more capacity (rank 16, scale alpha/r = 1) at the preset's and at 5x its learning rate. */
const CAPACITY_RUNS: Record<string, RunSpec> = {
  'ffa-lora-r16': { lora: { base: LORA_BASE, rank: 16, method: 'ffa-lora' } },
  'ffa-lora-r16-lr-1e-2': { lora: { base: LORA_BASE, rank: 16, method: 'ffa-lora' }, learningRate: 1e-2 },
};
const ALL_RUNS: Record<string, RunSpec> = { ...RUNS, ...SWEEP_RUNS, ...CAPACITY_RUNS };

/** The runs to do: --runs (any known names, 'full' among them or not), or the preset's three and with --sweep its sweep. */
export function pickLoraRuns(runs: string[] | undefined, sweep: boolean): Record<string, RunSpec> {
  if (!runs) return { ...RUNS, ...(sweep ? SWEEP_RUNS : {}) };
  const known = Object.keys(ALL_RUNS);
  const unknown = runs.filter((r) => !known.includes(r));
  if (unknown.length || runs.length === 0) throw new UsageError(`--runs: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'no run named'}; expected names from ${known.join(', ')}, separated by commas`);
  if (sweep) throw new UsageError('--runs and --sweep: give one (--runs may name the sweep\'s runs)');
  return Object.fromEntries(runs.map((r) => [r, ALL_RUNS[r]]));
}

/** The base alone, drawn at the bits LoRA devices hold it at (8, the runs' baseBits) and as shipped (16-bit weights, baseBits 32 keeps them as given). */
const BASE_ROWS = { base: 8, 'base-16bit': 32 } as const;
const BASE_NAMES: string[] = Object.keys(BASE_ROWS);

/** What the experiment reports of one run (one method, one seed). */
interface LoraSeedResult {
  seed: number;
  uplinkBytes: number;
  /** The rounds' model downlink plus, for a LoRA run, the base once per device. */
  downlinkBytes: number;
  energyJ: number;
  fid: number;
  /** The held-out denoising loss on the new styles (heldOutLossOf): the same noised images for every run and seed. */
  heldOutLoss: number;
  /** Parameters each device trained and uploaded. */
  params: number;
  rounds: number;
  wallS: number;
}

/**
 * A method over its seeds: the fields are means, `spread` the sample standard deviations, `seeds`
 * each run; `pairedVsBase` the mean and standard deviation over seeds of this run's Fréchet distance
 * minus the base's on the same seed (the same drawing noise and labels, so the sampling noise
 * largely cancels).
 */
interface LoraRunResult extends Omit<LoraSeedResult, 'seed'> {
  spread: { fid: number; energyJ: number; uplinkBytes: number; heldOutLoss: number };
  pairedVsBase: { mean: number; sd: number } | null;
  /** The held-out loss's change against the base on the same seed, in percent of the base's: mean and sd over seeds. */
  lossVsBase: { meanPct: number; sdPct: number } | null;
  seeds: LoraSeedResult[];
}


/** Means and spreads over seeds, and the paired difference against the base's seeds (null for the base itself). */
export function overLoraSeeds(seeds: LoraSeedResult[], base: LoraSeedResult[] | null): LoraRunResult {
  const m = (pick: (r: LoraSeedResult) => number) => mean(seeds.map(pick));
  const baseOf = (r: LoraSeedResult) => base!.find((b) => b.seed === r.seed)!;
  const diffs = base ? seeds.map((r) => r.fid - baseOf(r).fid) : null;
  const lossPct = base ? seeds.map((r) => (100 * (r.heldOutLoss - baseOf(r).heldOutLoss)) / baseOf(r).heldOutLoss) : null;
  return {
    uplinkBytes: m((r) => r.uplinkBytes),
    downlinkBytes: m((r) => r.downlinkBytes),
    energyJ: m((r) => r.energyJ),
    fid: m((r) => r.fid),
    heldOutLoss: m((r) => r.heldOutLoss),
    params: m((r) => r.params),
    rounds: m((r) => r.rounds),
    wallS: m((r) => r.wallS),
    spread: { fid: sd(seeds.map((r) => r.fid)), energyJ: sd(seeds.map((r) => r.energyJ)), uplinkBytes: sd(seeds.map((r) => r.uplinkBytes)), heldOutLoss: sd(seeds.map((r) => r.heldOutLoss)) },
    pairedVsBase: diffs ? { mean: mean(diffs), sd: sd(diffs) } : null,
    lossVsBase: lossPct ? { meanPct: mean(lossPct), sdPct: sd(lossPct) } : null,
    seeds,
  };
}

/**
 * The seed of a run's drawings: one per experiment seed, shared by every run of that seed and the
 * base, so a paired comparison sees the same noise and labels (seed 1 keeps the single-seed
 * experiment's 777, so its figures stay comparable).
 */
const drawSeedOf = (seed: number) => 777 + (seed - 1) * 1_000_003;

/**
 * The style Fréchet distance of what a run's EMA (or latest) vector draws, from a host built from
 * its config (LoRA: the effective model; null: the run's starting vector, the base alone), against
 * the held-out images of the new styles, with class labels drawn as the reference's are; and its
 * sample grid written to `png`.
 */
async function fidOf(config: RunConfig, vector: Float32Array | null, samples: number, drawSeed: number, png: string): Promise<{ fid: number; params: number }> {
  const host = await ModelHost.create(config);
  try {
    const weights = vector ?? host.initialWeights();
    writeFileSync(png, await host.samplesPng(weights, 0));
    const reference = await styleReferenceImages(NEW_STYLES.join(','));
    const labels = Int32Array.from({ length: samples }, (_, i) => reference.labels[i % reference.count]);
    const per = 32 * 32 * 3;
    const drawn = new Float32Array(samples * per);
    for (let s = 0; s < samples; s += 50) {
      const n = Math.min(50, samples - s);
      drawn.set(await host.draw(weights, n, drawSeed + s, labels.subarray(s, s + n)), s * per);
    }
    return { fid: await styleFid(drawn, NEW_STYLES.join(','), { count: samples }), params: host.paramCount };
  } finally {
    host.dispose();
  }
}

/** The noise seed of the held-out loss: one for every run and seed, so every model is scored on the same noised images. */
const LOSS_SEED = 4242;
const LOSS_KIND = `the DDPM training objective (epsilon MSE) on all held-out ${NEW_STYLES.join(' and ')} emoji (symbols no run trained on), two timesteps per image spread over the schedule, the noise fixed by one seed for every run (packages/diffusion/src/metrics/denoising-loss.ts); a lower value means the model fits the new styles better`;

/**
 * The held-out denoising loss (@fedbit/diffusion/metrics denoisingLoss) of what a run's EMA (or
 * latest) vector makes, on every held-out image of the new styles, two timesteps each, with the
 * noise LOSS_SEED fixes: the training objective on symbols no run trained on. Kept in the run's
 * directory (held-out-loss.json) with the round and seed it is of.
 */
async function heldOutLossOf(config: RunConfig, vector: Float32Array | null, dir: string, round: number): Promise<number> {
  const path = join(dir, 'held-out-loss.json');
  if (existsSync(path)) {
    const kept = JSON.parse(readFileSync(path, 'utf8')) as { round: number; seed: number; loss: number };
    if (kept.round === round && kept.seed === LOSS_SEED && Number.isFinite(kept.loss)) return kept.loss;
  }
  const host = await ModelHost.create(config);
  try {
    const reference = await styleReferenceImages(NEW_STYLES.join(','));
    const loss = await host.denoisingLoss(vector ?? host.initialWeights(), reference.images, reference.count, reference.labels, LOSS_SEED);
    writeFileSync(path, JSON.stringify({ round, seed: LOSS_SEED, images: reference.count, perImage: 2, loss }) + '\n');
    return loss;
  } finally {
    host.dispose();
  }
}

/** A run's figures once per finished run: kept in its directory (style-fid.json) with the round, sample count and drawing seed they are of, so a rerun that reuses the run does not draw again. */
async function cachedFid<T extends { fid: number }>(runDir: string, key: { round: number; samples: number; drawSeed: number }, compute: () => Promise<T>): Promise<T> {
  const path = join(runDir, 'style-fid.json');
  if (existsSync(path)) {
    const kept = JSON.parse(readFileSync(path, 'utf8')) as { round: number; samples: number; drawSeed?: number; figures: T };
    if (kept.round === key.round && kept.samples === key.samples && (kept.drawSeed ?? 777) === key.drawSeed && Number.isFinite(kept.figures?.fid)) return kept.figures;
  }
  const figures = await compute();
  writeFileSync(path, JSON.stringify({ ...key, figures }) + '\n');
  return figures;
}

const plusMinus = (value: number, spread: number, digits: number, several: boolean) => (several ? `${value.toFixed(digits)} ± ${spread.toFixed(digits)}` : value.toFixed(digits));

export async function loraExperiment(options: { json: boolean; parallel: number; out?: string; rounds?: number; sweep?: boolean; runs?: string[]; seeds?: number[]; command: string }): Promise<void> {
  const specs = pickLoraRuns(options.runs, options.sweep ?? false);
  const preset = { ...LORA_PRESET, rounds: options.rounds ?? LORA_PRESET.rounds };
  const seeds = options.seeds ?? [LORA_PRESET.seed];
  const several = seeds.length > 1;
  const outDir = options.out ?? join(REPO_ROOT, 'results', 'lora');
  mkdirSync(join(outDir, 'configs'), { recursive: true });
  const log = (line: string) => process.stderr.write(line + '\n');
  const started = Date.now();
  const about = preset.about(preset.rounds) + (preset.rounds !== LORA_PRESET.rounds ? ` (cut from the preset's ${LORA_PRESET.rounds} rounds)` : '');
  log(`experiment lora: ${about}; seeds ${seeds.join(', ')}`);

  const names = Object.keys(specs);
  // One seed keeps the single-seed experiment's run names (runs/full, ...), so its earlier runs are reused.
  const runName = (name: string, seed: number) => (several ? `${name}-seed${seed}` : name);
  const bySeed: Record<string, LoraSeedResult[]> = Object.fromEntries([...BASE_NAMES, ...names].map((n) => [n, []]));
  // The base alone, per seed: no training, nothing sent; its drawings from the same host the LoRA runs
  // use, at 8 bits as LoRA devices hold it ('base') and as shipped ('base-16bit', where full
  // fine-tuning starts), so the pair says what holding the base at 8 bits costs.
  // Kept in bases/<name>[-seed<k>]/style-fid.json, so a rerun that adds runs does not draw them again.
  const baseJob = async (name: keyof typeof BASE_ROWS, seed: number) => {
    const baseConfig = resolveRunConfig({ ...preset.config, lora: { ...RUNS['ffa-lora'].lora, baseBits: BASE_ROWS[name] }, runId: name, seed }, name);
    const id = runName(name, seed);
    const dir = join(outDir, 'bases', id);
    mkdirSync(dir, { recursive: true });
    const drawSeed = drawSeedOf(seed);
    const base = await cachedFid(dir, { round: 0, samples: preset.config.eval.samples, drawSeed }, () => fidOf(baseConfig, null, preset.config.eval.samples, drawSeed, join(outDir, `samples-${id}.png`)));
    const heldOutLoss = await heldOutLossOf(baseConfig, null, dir, 0);
    bySeed[name].push({ seed, uplinkBytes: 0, downlinkBytes: 0, energyJ: 0, fid: base.fid, heldOutLoss, params: 0, rounds: 0, wallS: 0 });
    log(`  ${id.padEnd(16)} Fréchet ${base.fid.toFixed(2)}, held-out loss ${heldOutLoss.toFixed(5)}`);
  };
  const jobs = [
    ...seeds.flatMap((seed) => names.map((name) => ({ name, seed }))),
    ...seeds.flatMap((seed) => BASE_NAMES.map((name) => ({ name, seed }))),
  ];
  await pool(jobs, options.parallel, async ({ name, seed }) => {
    if (name in BASE_ROWS) return baseJob(name as keyof typeof BASE_ROWS, seed);
    const t = Date.now();
    const spec = specs[name];
    const input: RunConfigInput = { ...preset.config, lora: spec.lora, model: { ...preset.config.model, init: spec.init ?? 'random' }, ...(spec.policy ? { policy: spec.policy } : {}), ...(spec.learningRate ? { learningRate: spec.learningRate } : {}) };
    const variant = { devices: preset.devices, rounds: preset.rounds, seed, config: input };
    const runId = runName(name, seed);
    const run = await runVariant(runId, variant, outDir);
    const config = resolveRunConfig(JSON.parse(readFileSync(join(outDir, 'configs', `${runId}.json`), 'utf8')), runId);
    const checkpoint = RunStore.open(join(outDir, 'runs', runId)).checkpoint!;
    const drawSeed = drawSeedOf(seed);
    const { fid, params } = await cachedFid(join(outDir, 'runs', runId), { round: checkpoint.state.round, samples: preset.config.eval.samples, drawSeed }, () =>
      fidOf(config, checkpoint.ema ?? checkpoint.weights, preset.config.eval.samples, drawSeed, join(outDir, `samples-${runId}.png`)),
    );
    const heldOutLoss = await heldOutLossOf(config, checkpoint.ema ?? checkpoint.weights, join(outDir, 'runs', runId), checkpoint.state.round);
    bySeed[name].push({
      seed,
      uplinkBytes: run.json.uplinkBytes,
      // The rounds' records charge a LoRA device the base's one download with its first task (round/dispatch.ts).
      downlinkBytes: run.json.downlinkBytes,
      energyJ: run.json.energyJ,
      fid,
      heldOutLoss,
      params,
      rounds: run.json.rounds,
      wallS: run.json.wallS,
    });
    log(`  ${runId.padEnd(16)} done in ${((Date.now() - t) / 1000).toFixed(0)} s: up ${formatBytes(run.json.uplinkBytes)}, Fréchet ${fid.toFixed(2)}, held-out loss ${heldOutLoss.toFixed(5)}`);
  });
  const order = (xs: LoraSeedResult[]) => xs.sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
  const runs: Record<string, LoraRunResult> = { base: overLoraSeeds(order(bySeed.base), null) };
  for (const name of [...BASE_NAMES.slice(1), ...names]) runs[name] = overLoraSeeds(order(bySeed[name]), runs.base.seeds);

  const fidKind = `style Fréchet distance (the emoji style classifier's features, packages/diffusion/src/metrics/style.ts; NOT the Inception FID) between ${preset.config.eval.samples} class-conditional drawings (20 DDIM steps, no guidance, labels as the reference's) and the held-out ${NEW_STYLES.join(' and ')} emoji`;
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  const rows = [...BASE_NAMES, ...names].map((name) => {
    const r = runs[name];
    const vsFull = BASE_NAMES.includes(name) || !runs.full ? '-' : `${(runs.full.uplinkBytes / Math.max(1, r.uplinkBytes)).toFixed(1)}x`;
    const paired = r.pairedVsBase ? plusMinus(r.pairedVsBase.mean, r.pairedVsBase.sd, 2, several) : '-';
    const below = r.pairedVsBase ? `${r.seeds.filter((x) => x.fid < runs.base.seeds.find((b) => b.seed === x.seed)!.fid).length} of ${r.seeds.length}` : '-';
    const lossPct = r.lossVsBase ? `${plusMinus(r.lossVsBase.meanPct, r.lossVsBase.sdPct, 2, several)}%` : '-';
    const lossBelow = r.lossVsBase ? `${r.seeds.filter((x) => x.heldOutLoss < runs.base.seeds.find((b) => b.seed === x.seed)!.heldOutLoss).length} of ${r.seeds.length}` : '-';
    return [name, r.params.toLocaleString('en'), formatBytes(r.uplinkBytes), vsFull, formatBytes(r.downlinkBytes), plusMinus(r.energyJ, r.spread.energyJ, 4, several), plusMinus(r.fid, r.spread.fid, 2, several), paired, below, plusMinus(r.heldOutLoss, r.spread.heldOutLoss, 5, several), lossPct, lossBelow, r.wallS.toFixed(0)];
  });
  const header = ['run', 'trained params', 'uplink', 'fewer uplink bytes than full', 'downlink (base once + rounds)', 'energy J*', 'Fréchet (lower is better)', 'Fréchet minus base, same seed', 'seeds below base', 'held-out loss (lower is better)', 'loss minus base, same seed', 'seeds with loss below base', 'wall s'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const perSeed = several
    ? `\n\nPer seed (style Fréchet distance; the base's differs between seeds only by the drawing noise):\n\n${[
        ['run', ...seeds.map((s) => `seed ${s}`)],
        ['---', ...seeds.map(() => '---')],
        ...[...BASE_NAMES, ...names].map((name) => [name, ...runs[name].seeds.map((x) => x.fid.toFixed(2))]),
      ]
        .map((r) => `| ${r.join(' | ')} |`)
        .join('\n')}`
    : '';
  const md = `# Experiment \`lora\`

${about}.

- date: ${new Date().toISOString()}
- machine: ${machine}
- command: \`${options.command}\`
- seeds: ${seeds.join(', ')}${several ? ' (figures are means over the seeds; ± is the standard deviation between seeds; "minus base" pairs each run with the base drawn with the same noise on the same seed)' : ''}
- total wall time: ${((Date.now() - started) / 1000).toFixed(0)} s

${table}${perSeed}

\\* Energy is modelled (packages/core/src/energy; a LoRA step is priced as full training's plus the adapters', packages/diffusion/src/lora-config.ts macsPerLoraTrainStep); a LoRA run's includes receiving the base once per device.
Fréchet: ${fidKind}.
Held-out loss: ${LOSS_KIND}.

Sample grids (a row per category, drawn with the weights each run samples with): ${[...BASE_NAMES, ...names].flatMap((n) => (several ? seeds.map((s) => `samples-${n}-seed${s}.png`) : [`samples-${n}.png`])).join(', ')}.
`;
  writeFileSync(join(outDir, 'summary.md'), md);
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ preset: 'lora', machine, command: options.command, about, rounds: preset.rounds, seeds, fid: fidKind, heldOutLoss: LOSS_KIND, runs }, null, 2) + '\n');
  log(`wrote ${relative(process.cwd(), outDir)}/summary.md and summary.json`);
  process.stdout.write(md);
  if (options.json) process.stdout.write(JSON.stringify({ fid: fidKind, heldOutLoss: LOSS_KIND, seeds, runs }) + '\n');
}
