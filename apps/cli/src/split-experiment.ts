// `npm run experiment -- --preset split`: federated learning of the whole model against split
// learning (SplitFed, Thapa et al., arXiv 2004.12088) and the lightweight split of Zhang, Ni, Wang
// (arXiv 2412.06414: a pruned device part, quantized gradients, activation dropout), with the same
// fleet, seed, data, rounds and local steps (so the same samples seen), each run a `simulate`
// process over real Socket.IO on loopback. Per round: the devices' MACs (their own part only),
// bytes up and down (updates, the model, activations and gradients), modelled device energy; after
// the last round the loss and FID-MNIST. Output: results/split/summary.{json,md} and one JSON line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { splitMacsPerStep, type RoundSummary, type SplitConfigInput } from '@fedbit/core';
import { macsPerTrainStep, resolveModelConfig, splitPlan } from '@fedbit/diffusion';
import { REPO_ROOT, type RunConfigInput } from '@fedbit/server';
import { UsageError } from './args';
import { policyFromName } from './policies';
import { formatBytes, table } from './report';
import { pool, runDependencies, runVariant } from './variants';

const DEVICES = 4;
const SEED = 1;
const CUT = 2;

export const SPLIT_BASE: RunConfigInput = {
  devicesPerRound: DEVICES,
  minDevices: DEVICES,
  quorum: DEVICES,
  localSteps: 10,
  batchSize: 8,
  learningRate: 2e-3,
  emaDecay: 0,
  deadlineS: 900,
  reproducible: true,
  policy: policyFromName('fedavg-32'),
  dataset: { name: 'mnist', imageSize: 16, partition: 'iid' },
  model: { size: 'tiny', schedule: { kind: 'cosine', steps: 200 } },
  eval: { every: 0, samples: 128, steps: 10 },
};

type SplitVariant = { about: string; split: SplitConfigInput | null };

export const SPLIT_VARIANTS: Record<string, SplitVariant> = {
  fl: { about: 'every device trains the whole model (FedAvg, 32-bit updates)', split: null },
  split: { about: `split at cut ${CUT}: no pruning, no dropout, 32-bit activations and gradients`, split: { cut: CUT, dropout: 0, activationBits: 32, gradientBits: 32, keepRatio: 1 } },
  'split-light': {
    about: `split at cut ${CUT}: device part pruned to half its weights, half the activations dropped (rescaled), 16-bit activations, 8-bit gradients`,
    split: { cut: CUT, dropout: 0.5, activationBits: 16, gradientBits: 8, keepRatio: 0.5 },
  },
  mixed: {
    about: `split-light's settings with split.perDevice: each device-round full or split, whichever the energy model prices lower for that device (docs/SPLIT.md, "Choosing per device"); mixed rounds merged as SplitFedV1`,
    split: { cut: CUT, dropout: 0.5, activationBits: 16, gradientBits: 8, keepRatio: 0.5, perDevice: true },
  },
  'split-light-v1': {
    about: `split-light's settings, every device split, the back held the SplitFedV1 way (a copy per device, averaged with the fronts by FedAvg: split.server 'per-device')`,
    split: { cut: CUT, dropout: 0.5, activationBits: 16, gradientBits: 8, keepRatio: 0.5, server: 'per-device' },
  },
};

/** The paper's sweep (Zhang, Ni, Wang, sec. V): dropout rate p against gradient precision, at the same cut, no pruning, 32-bit activations. */
export function sweepVariants(): Record<string, SplitVariant> {
  const out: Record<string, SplitVariant> = {};
  for (const dropout of [0, 0.5, 0.75]) {
    for (const gradientBits of [32, 8, 4] as const) {
      out[`p${dropout}-g${gradientBits}`] = { about: `cut ${CUT}, dropout ${dropout}, ${gradientBits}-bit gradients`, split: { cut: CUT, dropout, activationBits: 32, gradientBits, keepRatio: 1 } };
    }
  }
  return out;
}

/** The runs --runs names (all by default); an unknown name is a usage error that names the known ones. */
function pickRuns(runs: string[] | undefined): Record<string, SplitVariant> {
  if (!runs) return SPLIT_VARIANTS;
  const known = Object.keys(SPLIT_VARIANTS);
  const unknown = runs.filter((r) => !known.includes(r));
  if (unknown.length || runs.length === 0) throw new UsageError(`--runs: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'no run named'}; expected names from ${known.join(', ')}, separated by commas`);
  return Object.fromEntries(runs.map((r) => [r, SPLIT_VARIANTS[r]]));
}

/** One variant's figures: per-round means over the run (all devices of a round together), and the end of the run. */
export interface SplitResult {
  deviceMacs: number;
  /** Device-rounds trained split and whole (accepted ones, over the run). */
  modes: { split: number; full: number };
  uplinkBytes: number;
  downlinkBytes: number;
  energyJ: number;
  fid: number | null;
  loss: number | null;
  wallSPerRound: number;
  rounds: number;
  about: string;
}

export async function splitExperiment(options: { json: boolean; parallel: number; out?: string; rounds?: number; sweep?: boolean; runs?: string[]; command: string }): Promise<void> {
  const rounds = options.rounds ?? 3;
  if (options.sweep && options.runs) throw new UsageError('--runs and --sweep: give one (the sweep has its own runs)');
  const variants = options.sweep ? sweepVariants() : pickRuns(options.runs);
  const outDir = options.out ?? join(REPO_ROOT, 'results', options.sweep ? 'split-sweep' : 'split');
  mkdirSync(join(outDir, 'configs'), { recursive: true });
  const log = (line: string) => process.stderr.write(line + '\n');
  const started = Date.now();
  const names = Object.keys(variants);
  log(`experiment split: ${DEVICES} devices, ${rounds} rounds of ${SPLIT_BASE.localSteps} steps of batch ${SPLIT_BASE.batchSize}, tiny model, 16x16 MNIST; variants ${names.join(', ')}`);
  const model = resolveModelConfig('tiny', { imageSize: 16, channels: 1 });
  const batch = SPLIT_BASE.batchSize as number;
  const steps = SPLIT_BASE.localSteps as number;

  const runs = await pool(names, options.parallel, async (name) => {
    const t = Date.now();
    const variant = variants[name];
    const run = await runVariant(name, { devices: DEVICES, rounds, seed: SEED, config: { ...SPLIT_BASE, split: variant.split } }, outDir);
    log(`  ${name.padEnd(12)} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    return run;
  });

  const results: Record<string, SplitResult> = {};
  names.forEach((name, i) => {
    const { summaries, json } = runs[i];
    const split = variants[name].split;
    // MACs of one device-round, as its record says it trained: the whole model, or its part (forward + backward, scaled by its keep ratio)
    const records = summaries.flatMap((s) => s.devices.filter((d) => d.status === 'accepted'));
    const macsOf = (d: RoundSummary['devices'][number]) =>
      d.trainingMode === 'split' ? splitMacsPerStep(splitPlan(model, split?.cut ?? 1).deviceMacsPerImage, batch, d.keepRatio ?? 1) * steps : macsPerTrainStep(model, batch) * steps;
    const perRound = (pick: (s: RoundSummary) => number) => summaries.reduce((a, s) => a + pick(s), 0) / Math.max(1, summaries.length);
    const splitRounds = records.filter((d) => d.trainingMode === 'split').length;
    results[name] = {
      deviceMacs: records.reduce((a, d) => a + macsOf(d), 0) / Math.max(1, summaries.length),
      modes: { split: splitRounds, full: records.length - splitRounds },
      uplinkBytes: perRound((s) => s.uplinkBytes),
      downlinkBytes: perRound((s) => s.downlinkBytes),
      energyJ: perRound((s) => s.energyJ),
      fid: json.fid,
      loss: json.finalLoss,
      wallSPerRound: perRound((s) => s.wallS),
      rounds: summaries.length,
      about: variants[name].about,
    };
  });

  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  const plan = splitPlan(model, CUT);
  const summary = {
    preset: 'split',
    date: new Date().toISOString(),
    machine,
    command: options.command,
    devices: DEVICES,
    rounds,
    cut: { cut: CUT, deviceParams: plan.deviceSize, serverParams: plan.serverSize, crossingPerImage: plan.crossingPerImage, deviceMacsPerImage: plan.deviceMacsPerImage, serverMacsPerImage: plan.serverMacsPerImage },
    wallS: (Date.now() - started) / 1000,
    dependsOn: runDependencies({ seed: SEED }, names, outDir),
    runs: results,
  };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const rows = names.map((name) => {
    const r = results[name];
    return [name, `${r.modes.split}/${r.modes.split + r.modes.full}`, (r.deviceMacs / 1e6).toFixed(1), formatBytes(r.uplinkBytes), formatBytes(r.downlinkBytes), r.energyJ.toFixed(4), r.wallSPerRound.toFixed(1), r.loss?.toFixed(4) ?? 'n/a', r.fid?.toFixed(2) ?? 'n/a'];
  });
  const text = table(['variant', 'split device-rounds', 'device MMACs/round', 'up/round', 'down/round', 'energy J*/round', 'wall s/round', 'final loss', 'FID-MNIST'], rows);
  const md = `# Experiment \`split\`

${DEVICES} devices (the seeded fleet), ${rounds} rounds of ${steps} local steps of batch ${batch}, tiny model on 16x16 MNIST, seed ${SEED}; cut ${CUT}: the device keeps ${plan.deviceSize} of ${plan.deviceSize + plan.serverSize} weights and ${plan.deviceMacsPerImage} of ${plan.deviceMacsPerImage + plan.serverMacsPerImage} forward MACs per image; ${plan.crossingPerImage} values per image cross the cut.

- date: ${summary.date}
- machine: ${machine}
- command: \`${options.command}\`
- total wall time: ${summary.wallS.toFixed(0)} s

${names.map((n) => `- ${n}: ${variants[n].about}`).join('\n')}

\`\`\`
${text}
\`\`\`

\\* modelled joules (packages/core/src/energy; split: packages/core/src/split/energy.ts), per round, all devices together.
`;
  writeFileSync(join(outDir, 'summary.md'), md);
  log(`wrote ${relative(process.cwd(), outDir)}/summary.md and summary.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(md);
  if (options.json) process.stdout.write(JSON.stringify({ [options.sweep ? 'sweep' : 'runs']: Object.fromEntries(names.map((n) => [n, { deviceMacs: results[n].deviceMacs, uplinkBytes: results[n].uplinkBytes, downlinkBytes: results[n].downlinkBytes, energyJ: results[n].energyJ, fid: results[n].fid, loss: results[n].loss, wallSPerRound: results[n].wallSPerRound, modes: results[n].modes }])) }) + '\n');
}
