// `npm run experiment -- --preset robust`: what 20% attacking devices do to the model under each
// aggregation rule; and `--preset privacy`: what client-level differential privacy costs in image
// quality for the epsilon it buys, in a room of ten devices. Ten simulated devices (the seeded fleet of the paper preset, fewer rounds), two
// of them Byzantine: both upload their update reversed and amplified 4x (sign flipping,
// packages/client/src/attack.ts), so with FedAvg two attackers cancel eight honest devices. The same
// fleet, seed and rounds run without attackers (FedAvg, and the median: what robustness costs when
// nobody attacks) and under attack once per rule: FedAvg with no bound, FedAvg with a tight norm
// bound (0.1 of the model's norm, about 1.5x the largest honest update measured), the
// coordinate-wise trimmed mean (20% cut at each end) and the coordinate-wise median (Yin et al.,
// arXiv 1803.01498). Every run is synchronous and
// reproducible (same seed, same figures). Output: results/robust/summary.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { generateProfiles, type DeviceProfile } from '@fedbit/client';
import type { RunConfigInput } from '@fedbit/server';
import { REPO_ROOT } from '@fedbit/server';
import { STUDY_CONFIG } from './presets';
import { pool, runDependencies, runVariant, type Variant } from './variants';
import { policyFromName } from './policies';
import { formatBytes } from './report';

const DEVICES = 10;
const ROUNDS = 15;
const SEED = 1;
/** The attackers: the last two devices of the fleet (20%). */
const ATTACKS: Record<number, DeviceProfile['attack']> = {
  8: { kind: 'sign-flip', factor: 4 },
  9: { kind: 'sign-flip', factor: 4 },
};

interface RuleVariant {
  about: string;
  attacked: boolean;
  config: Partial<RunConfigInput>;
}

interface Study {
  about: string;
  variants: Record<string, RuleVariant>;
}

export const ROBUST_VARIANTS: Record<string, RuleVariant> = {
  'no-attack': { about: 'FedAvg, no attackers (the default norm bound, 0.5 of the model norm)', attacked: false, config: {} },
  'median-no-attack': { about: 'coordinate-wise median, no attackers', attacked: false, config: { aggregation: { rule: 'median' } } },
  fedavg: { about: 'FedAvg, no bound at all', attacked: true, config: { maxUpdateNormRatio: null } },
  'norm-bound': { about: 'FedAvg, each update clipped to 0.1 of the model norm', attacked: true, config: { maxUpdateNormRatio: 0.1 } },
  'trimmed-mean': { about: 'coordinate-wise trimmed mean, 20% cut at each end', attacked: true, config: { aggregation: { rule: 'trimmed-mean', trim: 0.2 } } },
  median: { about: 'coordinate-wise median', attacked: true, config: { aggregation: { rule: 'median' } } },
};

/**
 * DP-FedAvg over the same ten honest devices, every device in every round (q = 1), clip 2 (about
 * the largest honest update norm), noise multiplier sigma. With n = 10 the noise on the mean is
 * sigma * C / 10 per parameter: client-level DP is built for populations of thousands, and this
 * table shows what it costs where a classroom is the population.
 */
export const PRIVACY_VARIANTS: Record<string, RuleVariant> = {
  'no-dp': { about: 'FedAvg without privacy', attacked: false, config: {} },
  'sigma-0.001': { about: 'DP-FedAvg, clip 2, noise multiplier 0.001', attacked: false, config: { privacy: { noiseMultiplier: 0.001, clipNorm: 2 } } },
  'sigma-0.01': { about: 'DP-FedAvg, clip 2, noise multiplier 0.01', attacked: false, config: { privacy: { noiseMultiplier: 0.01, clipNorm: 2 } } },
  'sigma-0.1': { about: 'DP-FedAvg, clip 2, noise multiplier 0.1', attacked: false, config: { privacy: { noiseMultiplier: 0.1, clipNorm: 2 } } },
};

const STUDIES: Record<'robust' | 'privacy', Study> = {
  robust: { about: `${DEVICES} devices (2 Byzantine, both uploading -4x their update), ${ROUNDS} rounds of the paper preset's training at fixed 8 bits, seed ${SEED}`, variants: ROBUST_VARIANTS },
  privacy: { about: `${DEVICES} honest devices, all in every round, ${ROUNDS} rounds of the paper preset's training at fixed 8 bits, seed ${SEED}; epsilon at delta 1e-5`, variants: PRIVACY_VARIANTS },
};

export interface RobustOptions {
  study: 'robust' | 'privacy';
  json: boolean;
  parallel: number;
  out?: string;
  command: string;
}

export async function robustExperiment(options: RobustOptions): Promise<void> {
  const study = STUDIES[options.study];
  const outDir = options.out ?? join(REPO_ROOT, 'results', options.study);
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const log = (line: string) => process.stderr.write(line + '\n');
  const honest = generateProfiles(DEVICES, SEED);
  const attacked = honest.map((p, i) => (ATTACKS[i] ? { ...p, name: `${p.name}-byzantine`, attack: ATTACKS[i] } : p));
  const names = Object.keys(study.variants);
  const about = study.about;
  log(`experiment ${options.study}: ${about}; ${options.parallel} at a time`);

  const runs = await pool(names, options.parallel, async (name) => {
    const rule = study.variants[name];
    const variant: Variant = {
      devices: DEVICES,
      rounds: ROUNDS,
      seed: SEED,
      profiles: rule.attacked ? attacked : honest,
      config: { ...STUDY_CONFIG, policy: policyFromName('fixed-8'), ...rule.config },
    };
    const t = Date.now();
    const run = await runVariant(name, variant, outDir);
    log(`  ${name.padEnd(12)} done in ${((Date.now() - t) / 1000).toFixed(0)} s: FID-MNIST ${run.json.fid?.toFixed(2) ?? 'n/a'}, final loss ${run.json.finalLoss?.toFixed(4) ?? 'n/a'}`);
    return run;
  });

  const results = Object.fromEntries(
    names.map((name, i) => {
      const j = runs[i].json;
      const epsilon = runs[i].summaries.at(-1)?.epsilon ?? null;
      return [name, { about: study.variants[name].about, attacked: study.variants[name].attacked, epsilon, fid: j.fid, diversity: j.diversity, finalLoss: j.finalLoss, energyJ: j.energyJ, uplinkBytes: j.uplinkBytes, rounds: j.rounds, wallS: j.wallS, runDir: relative(REPO_ROOT, join(outDir, 'runs', name)) }];
    }),
  );
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  const summary = { preset: options.study, date: new Date().toISOString(), machine, command: options.command, about, wallS: (Date.now() - started) / 1000, dependsOn: runDependencies({ seed: SEED }, names, outDir), rules: results };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const header = ['variant', 'attackers', 'epsilon (delta 1e-5)', 'FID-MNIST', 'class entropy (bits)', 'final loss', 'uplink', 'wall s'];
  const rows = names.map((n) => {
    const r = results[n];
    return [`${n} (${r.about})`, r.attacked ? '2 of 10' : 'none', r.epsilon === null ? 'none' : r.epsilon.toPrecision(3), r.fid?.toFixed(2) ?? 'n/a', r.diversity?.toFixed(3) ?? 'n/a', r.finalLoss?.toFixed(4) ?? 'n/a', formatBytes(r.uplinkBytes), r.wallS.toFixed(0)];
  });
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const md = `# Experiment \`${options.study}\`\n\n${about}.\n\n- date: ${summary.date}\n- machine: ${machine}\n- command: \`${options.command}\`\n- total wall time: ${summary.wallS.toFixed(0)} s\n\n${table}\n\nFID-MNIST is a Frechet distance in the features of a small MNIST classifier, not the Inception FID.\n`;
  writeFileSync(join(outDir, 'summary.md'), md);
  process.stdout.write(md);
  if (options.json) process.stdout.write(JSON.stringify({ preset: options.study, rules: results }) + '\n');
}
