// `npm run experiment -- --preset smoke|paper` (robust: ./robust.ts): the same federated training once per precision
// policy (same seed, devices, profiles, partition and rounds; real Socket.IO on loopback), then a
// table and plots comparing system energy, bytes and image quality (after Lai et al., ICC 2024,
// arXiv 2403.04430, and Kim, Saad et al., arXiv 2111.07911). Each policy runs as its own
// `simulate` process, so `--parallel 2` uses both cores of a small machine.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { DEFAULT_ON_DEMAND_PARAMS, roundErrorBound, type RoundSummary } from '@fedbit/core';
import { REPO_ROOT, type RunConfig } from '@fedbit/server';
import { UsageError, nameList, parseFlags, seedList, wholeNumber } from './args';
import { POLICY_NAMES, policyFromName, type PolicyName } from './policies';
import { barChart, lineChart, scatterChart } from './plots';
import { PRESETS, type Preset } from './presets';
import { formatBytes } from './report';
import { mean, sd } from './seed-stats';
import { runSamplesPng } from './sample-grid';
import { pool, runDependencies, runVariant, type VariantRun } from './variants';



/** The figures of one run (one policy, one seed). */
interface SeedResult {
  seed: number;
  energyJ: number;
  computeJ: number;
  transmitJ: number;
  receiveJ: number;
  uplinkBytes: number;
  downlinkBytes: number;
  rounds: number;
  fid: number | null;
  diversity: number | null;
  wallS: number;
  runDir: string;
}

/** A policy over its seeds: the fields are means, `spread` the sample standard deviations, `seeds` each run. */
interface PolicyResult extends Omit<SeedResult, 'seed' | 'runDir'> {
  seeds: SeedResult[];
  spread: { energyJ: number; uplinkBytes: number; fid: number | null };
  /** Ratios of the means against FedAvg-32. */
  relativeToFedAvg?: { energy: number; uplinkBytes: number; fid: number | null };
  /**
   * Paired against FedAvg-32 on the same seeds (same fleet, data and model initialisation): the
   * mean and standard deviation over seeds of this policy's FID minus FedAvg-32's, and of its
   * energy over FedAvg-32's.
   */
  paired?: { fidDiff: { mean: number; sd: number } | null; energyRatio: { mean: number; sd: number } };
}

const meanOrNull = (xs: (number | null)[]) => (xs.every((x) => x !== null) ? mean(xs as number[]) : null);

function overSeeds(seeds: SeedResult[]): PolicyResult {
  const m = (pick: (r: SeedResult) => number) => mean(seeds.map(pick));
  const fids = seeds.map((r) => r.fid);
  return {
    energyJ: m((r) => r.energyJ),
    computeJ: m((r) => r.computeJ),
    transmitJ: m((r) => r.transmitJ),
    receiveJ: m((r) => r.receiveJ),
    uplinkBytes: m((r) => r.uplinkBytes),
    downlinkBytes: m((r) => r.downlinkBytes),
    rounds: m((r) => r.rounds),
    fid: meanOrNull(fids),
    diversity: meanOrNull(seeds.map((r) => r.diversity)),
    wallS: m((r) => r.wallS),
    spread: { energyJ: sd(seeds.map((r) => r.energyJ)), uplinkBytes: sd(seeds.map((r) => r.uplinkBytes)), fid: fids.every((f) => f !== null) ? sd(fids as number[]) : null },
    seeds,
  };
}

function pairedWith(r: PolicyResult, base: PolicyResult): PolicyResult['paired'] {
  const pairs = r.seeds.map((x) => [x, base.seeds.find((b) => b.seed === x.seed)!] as const);
  const diffs = pairs.every(([x, b]) => x.fid !== null && b.fid !== null) ? pairs.map(([x, b]) => (x.fid as number) - (b.fid as number)) : null;
  const ratios = pairs.map(([x, b]) => x.energyJ / b.energyJ);
  return { fidDiff: diffs ? { mean: mean(diffs), sd: sd(diffs) } : null, energyRatio: { mean: mean(ratios), sd: sd(ratios) } };
}

const runName = (policy: PolicyName, seed: number) => `${policy}-seed${seed}`;

function runPolicy(name: PolicyName, seed: number, preset: Preset, outDir: string): Promise<VariantRun> {
  return runVariant(runName(name, seed), { ...preset, seed, config: { ...preset.config, policy: policyFromName(name) } }, outDir);
}

export async function experiment(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      preset: { type: 'string', placeholder: 'name', description: 'smoke (minutes), paper (the published table, a few hours on 2 cores), paper-short (its 30-round setting of 2026-11-23), robust (attackers against each rule), privacy (FID against epsilon), lora (full fine-tuning against FFA-LoRA and FedIT adapters) or split (whole-model FL against split learning)' },
      runs: { type: 'string', placeholder: 'list', description: 'split: the runs to do, from fl, split, split-light, mixed, split-light-v1 (default: all); lora: from full, ffa-lora, fedit-lora, the --sweep runs, ffa-lora-r16, ffa-lora-r16-lr-1e-2 (default: the first three)' },
      sweep: { type: 'boolean', description: 'split: sweep the dropout rate (0, 0.5, 0.75) against the gradient precision (32, 8, 4 bits) instead; lora: also FFA-LoRA\'s adapters at fixed 32, fixed 4 and on-demand precision, and at 5x the learning rate' },
      json: { type: 'boolean', description: 'end with one JSON line of the results' },
      parallel: { type: 'string', default: '1', placeholder: 'n', description: 'simulations at a time (one per core)' },
      out: { type: 'string', placeholder: 'dir', description: 'output folder (default results/<preset>)' },
      policies: { type: 'string', placeholder: 'list', description: `smoke and paper: the policies to run, from ${POLICY_NAMES.join(', ')} (fedavg-32 required)` },
      rounds: { type: 'string', placeholder: 'n', description: 'lora and split: rounds per run (lora: cut the rounds for a short check; split: default 3)' },
      seeds: { type: 'string', placeholder: 'list', description: 'smoke, paper and lora: the seeds to run every policy (lora: every run) with (default: the preset\'s); figures are means over them, with spreads and a paired comparison against fedavg-32 (lora: against the base)' },
    },
    z.object({
      preset: z.enum(['smoke', 'paper', 'paper-short', 'robust', 'privacy', 'lora', 'split'], { message: 'expected smoke, paper, paper-short, robust, privacy, lora or split' }),
      rounds: wholeNumber(1, 10_000).optional(),
      sweep: z.boolean(),
      runs: z.string().transform((text) => text.split(',').map((s) => s.trim()).filter(Boolean)).optional(),
      json: z.boolean(),
      parallel: wholeNumber(1, 16),
      out: z.string().optional(),
      policies: nameList(POLICY_NAMES).optional(),
      seeds: seedList.optional(),
    }),
    {
      usage: 'npm run experiment --',
      summary: 'the same federated training once per policy or rule (same seed, devices and rounds), then tables and plots in results/<preset>/',
      examples: ['npm run experiment -- --preset smoke', 'npm run experiment -- --preset lora --json', 'npm run experiment -- --preset paper --parallel 2 --json', 'npm run experiment -- --preset robust --parallel 2', 'npm run experiment -- --preset split --rounds 3 --json'],
    },
  );
  if (!flags) return;
  if (flags.preset === 'lora') {
    const { loraExperiment } = await import('./lora-experiment');
    return loraExperiment({ json: flags.json, parallel: flags.parallel, out: flags.out, rounds: flags.rounds, sweep: flags.sweep, runs: flags.runs, seeds: flags.seeds, command: `npm run experiment -- ${argv.join(' ')}` });
  }
  if (flags.preset === 'split') {
    const { splitExperiment } = await import('./split-experiment');
    return splitExperiment({ json: flags.json, parallel: flags.parallel, out: flags.out, rounds: flags.rounds, sweep: flags.sweep, runs: flags.runs, command: `npm run experiment -- ${argv.join(' ')}` });
  }
  if (flags.preset === 'robust' || flags.preset === 'privacy') {
    const { robustExperiment } = await import('./robust');
    return robustExperiment({ study: flags.preset, json: flags.json, parallel: flags.parallel, out: flags.out, command: `npm run experiment -- ${argv.join(' ')}` });
  }
  const preset = PRESETS[flags.preset];
  const policies = flags.policies ?? preset.policies;
  const seeds = flags.seeds ?? preset.seeds;
  if (!policies.includes('fedavg-32')) throw new UsageError('--policies must include fedavg-32: every figure is reported relative to it');
  const outDir = flags.out ?? join(REPO_ROOT, 'results', flags.preset);
  mkdirSync(join(outDir, 'configs'), { recursive: true });
  const started = Date.now();
  const log = (line: string) => process.stderr.write(line + '\n');
  log(`experiment ${flags.preset}: ${preset.about}; policies ${policies.join(', ')}; seeds ${seeds.join(', ')}; ${flags.parallel} at a time`);

  const jobs = seeds.flatMap((seed) => policies.map((name) => ({ name, seed })));
  const done = await pool(jobs, flags.parallel, async ({ name, seed }) => {
    const t = Date.now();
    const run = await runPolicy(name, seed, preset, outDir);
    log(`  ${runName(name, seed).padEnd(18)} done in ${((Date.now() - t) / 1000).toFixed(0)} s: energy ${run.json.energyJ.toFixed(3)} J*, up ${formatBytes(run.json.uplinkBytes)}, FID-MNIST ${run.json.fid?.toFixed(2) ?? 'n/a'}`);
    return run;
  });
  const runOf = (name: PolicyName, seed: number) => done[jobs.findIndex((j) => j.name === name && j.seed === seed)];

  const results: Record<string, PolicyResult> = {};
  for (const name of policies) {
    results[name] = overSeeds(
      seeds.map((seed) => {
        const j = runOf(name, seed).json;
        return {
          seed,
          energyJ: j.energyJ,
          computeJ: j.computeJ,
          transmitJ: j.transmitJ,
          receiveJ: j.receiveJ,
          uplinkBytes: j.uplinkBytes,
          downlinkBytes: j.downlinkBytes,
          rounds: j.rounds,
          fid: j.fid,
          diversity: j.diversity,
          wallS: j.wallS,
          runDir: relative(REPO_ROOT, join(outDir, 'runs', runName(name, seed))),
        };
      }),
    );
  }
  const base = results['fedavg-32'];
  for (const r of Object.values(results)) {
    r.relativeToFedAvg = {
      energy: r.energyJ / base.energyJ,
      uplinkBytes: r.uplinkBytes / base.uplinkBytes,
      fid: r.fid !== null && base.fid !== null ? r.fid / base.fid : null,
    };
    r.paired = pairedWith(r, base);
  }
  // The plots show the first seed's runs (one curve per policy); the tables average every seed.
  const runs = policies.map((name) => runOf(name, seeds[0]));

  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  const command = `npm run experiment -- ${argv.join(' ')}`;
  const summary = {
    preset: flags.preset,
    date: new Date().toISOString(),
    machine,
    command,
    about: preset.about,
    devices: preset.devices,
    rounds: preset.rounds,
    wallS: (Date.now() - started) / 1000,
    seeds,
    dependsOn: runDependencies({ seed: seeds[0] }, jobs.map((j) => runName(j.name, j.seed)), outDir),
    policies: results,
  };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(outDir, 'summary.md'), summaryMarkdown(summary, policies));

  // Plots.
  const series = (pick: (s: RoundSummary, acc: number) => number) =>
    policies.map((name, i) => {
      let acc = 0;
      return { name, points: runs[i].summaries.map((s) => [s.round, (acc = pick(s, acc))] as [number, number]) };
    });
  writeFileSync(
    join(outDir, 'energy-vs-fid.svg'),
    scatterChart('System energy against final FID-MNIST', 'modelled system energy (J)', 'FID-MNIST (lower is better)', policies.filter((p) => results[p].fid !== null).map((p) => ({ name: p, x: results[p].energyJ, y: results[p].fid! }))),
  );
  writeFileSync(join(outDir, 'cumulative-energy.svg'), lineChart('Cumulative system energy', 'round', 'modelled energy (J)', series((s, acc) => acc + s.energyJ)));
  writeFileSync(join(outDir, 'bytes-per-round.svg'), lineChart('Uplink bytes per round', 'round', 'bytes', series((s) => s.uplinkBytes)));
  // The on-demand error bound over rounds: errorBound / (eta_t / eta_0) (roundErrorBound in packages/core/src/policy/on-demand.ts).
  const base0 = preset.config.learningRate ?? 2e-3;
  const boundOf = (s: RoundSummary) => roundErrorBound(DEFAULT_ON_DEMAND_PARAMS.errorBound, (s.learningRate ?? base0) / base0);
  const onDemandRun = policies.includes('on-demand') ? runOf('on-demand', seeds[0]) : null;
  if (onDemandRun) {
    writeFileSync(
      join(outDir, 'error-bound.svg'),
      lineChart('On-demand: relative error bound per round (widens as the learning rate decays)', 'round', 'eps / sum w^2 ||u||^2', [{ name: 'on-demand bound', points: onDemandRun.summaries.map((s) => [s.round, boundOf(s)] as [number, number]) }]),
    );
  }
  const meanBits = (s: RoundSummary) => {
    const bits = s.devices.filter((d) => d.status === 'accepted').map((d) => d.bits);
    return bits.length ? bits.reduce((a, b) => a + b, 0) / bits.length : 0;
  };
  writeFileSync(join(outDir, 'bits-per-round.svg'), lineChart('Mean upload precision per round', 'round', 'bits', series((s) => meanBits(s))));
  const bitValues = [1, 2, 4, 8, 16, 32];
  const counts = (name: string, i: number) => bitValues.map((b) => runs[i].summaries.flatMap((s) => s.devices.filter((d) => d.status === 'accepted' && d.bits === b)).length);
  writeFileSync(
    join(outDir, 'bits-histogram.svg'),
    barChart('Assigned precision over devices and rounds', 'bits', 'device-rounds', bitValues.map(String), policies.map((name, i) => ({ name, values: counts(name, i) }))),
  );
  // What each policy's final model draws (first seed), from the same noise.
  for (const name of policies) {
    const config = JSON.parse(readFileSync(join(outDir, 'configs', `${runName(name, seeds[0])}.json`), 'utf8')) as RunConfig;
    writeFileSync(join(outDir, `samples-${name}.png`), await runSamplesPng(join(outDir, 'runs', runName(name, seeds[0])), config));
  }
  log(`wrote ${relative(process.cwd(), outDir)}/summary.md, summary.json, configs/, plots and sample grids in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(readFileSync(join(outDir, 'summary.md'), 'utf8'));
  if (flags.json) process.stdout.write(JSON.stringify({ preset: flags.preset, seeds, policies: results }) + '\n');
}

function summaryMarkdown(summary: { preset: string; date: string; machine: string; command: string; about: string; wallS: number; seeds: number[] }, policies: string[]): string {
  const results = (summary as unknown as { policies: Record<string, PolicyResult> }).policies;
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const several = summary.seeds.length > 1;
  const pm = (m: number | null, s: number | null, digits: number) => (m === null ? 'n/a' : several && s !== null ? `${m.toFixed(digits)} ± ${s.toFixed(digits)}` : m.toFixed(digits));
  const rows = policies.map((p) => {
    const r = results[p];
    const paired = r.paired;
    return [
      p,
      pm(r.energyJ, r.spread.energyJ, 3),
      r.computeJ.toFixed(3),
      r.transmitJ.toFixed(3),
      r.receiveJ.toFixed(3),
      formatBytes(r.uplinkBytes),
      formatBytes(r.downlinkBytes),
      r.rounds,
      r.wallS.toFixed(0),
      pm(r.fid, r.spread.fid, 2),
      r.diversity?.toFixed(3) ?? 'n/a',
      pct(r.relativeToFedAvg?.energy),
      pct(r.relativeToFedAvg?.uplinkBytes),
      p === 'fedavg-32' || !paired?.fidDiff ? '-' : `${paired.fidDiff.mean >= 0 ? '+' : ''}${pm(paired.fidDiff.mean, paired.fidDiff.sd, 2)}`,
    ];
  });
  const header = ['policy', 'energy J*', 'compute J*', 'send J*', 'receive J*', 'uplink', 'downlink', 'rounds', 'wall s', 'FID-MNIST', 'class entropy (bits)', 'energy vs FedAvg', 'uplink vs FedAvg', 'FID minus FedAvg (paired)'];
  const md = [header, header.map(() => '---'), ...rows.map((r) => r.map(String))].map((r) => `| ${r.join(' | ')} |`).join('\n');
  return `# Experiment \`${summary.preset}\`

${summary.about}.

- date: ${summary.date}
- machine: ${summary.machine}
- command: \`${summary.command}\`
- seeds: ${summary.seeds.join(', ')}${several ? ' (figures are means over the seeds; ± is the standard deviation between seeds; the paired column compares each seed with FedAvg-32 on the same seed)' : ''}
- total wall time: ${summary.wallS.toFixed(0)} s

${md}

\\* Energy is modelled, not measured (packages/core/src/energy: Horowitz 45 nm per-MAC energy scaled
by (n/32)^1.25 after Moons et al., transmit power times bits over the measured uplink rate, and
5.2e-8 J per bit received for the global model after Huang et al., MobiSys 2012).
FID-MNIST is a Frechet distance in the features of a small MNIST classifier, not the Inception FID.

${policies.map((p) => `![${p}](samples-${p}.png) ${p}`).join('  \n')}

Sample grids (first seed; 32 images from the same noise, drawn with the weights each run samples with): samples-<policy>.png.
Plots (first seed): energy-vs-fid.svg, cumulative-energy.svg, bytes-per-round.svg, bits-histogram.svg, bits-per-round.svg, error-bound.svg (with on-demand).
`;
}
