// `npm run experiment -- --preset smoke|paper` (robust: ./robust.ts): the same federated training once per precision
// policy (same seed, devices, profiles, partition and rounds; real Socket.IO on loopback), then a
// table and plots comparing system energy, bytes and image quality (after Lai et al., ICC 2024,
// arXiv 2403.04430, and Kim, Saad et al., arXiv 2111.07911). Each policy runs as its own
// `simulate` process, so `--parallel 2` uses both cores of a small machine.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { z } from 'zod';
import type { RoundSummary } from '@fedbit/core';
import { REPO_ROOT } from '@fedbit/server';
import { UsageError, nameList, parseFlags, wholeNumber } from './args';
import { POLICY_NAMES, policyFromName, type PolicyName } from './policies';
import { barChart, lineChart, scatterChart } from './plots';
import { PRESETS, type Preset } from './presets';
import { formatBytes } from './report';
import { pool, runDependencies, runVariant, type VariantRun } from './variants';



interface PolicyResult {
  energyJ: number;
  computeJ: number;
  transmitJ: number;
  uplinkBytes: number;
  downlinkBytes: number;
  rounds: number;
  fid: number | null;
  diversity: number | null;
  wallS: number;
  runDir: string;
  relativeToFedAvg?: { energy: number; uplinkBytes: number; fid: number | null };
}

function runPolicy(name: PolicyName, preset: Preset, outDir: string): Promise<VariantRun> {
  return runVariant(name, { ...preset, config: { ...preset.config, policy: policyFromName(name) } }, outDir);
}

export async function experiment(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      preset: { type: 'string', placeholder: 'name', description: 'smoke (minutes), paper (the published table), robust (attackers against each rule) or privacy (FID against epsilon)' },
      json: { type: 'boolean', description: 'end with one JSON line of the results' },
      parallel: { type: 'string', default: '1', placeholder: 'n', description: 'simulations at a time (one per core)' },
      out: { type: 'string', placeholder: 'dir', description: 'output folder (default results/<preset>)' },
      policies: { type: 'string', placeholder: 'list', description: `smoke and paper: the policies to run, from ${POLICY_NAMES.join(', ')} (fedavg-32 required)` },
    },
    z.object({
      preset: z.enum(['smoke', 'paper', 'robust', 'privacy'], { message: 'expected smoke, paper, robust or privacy' }),
      json: z.boolean(),
      parallel: wholeNumber(1, 16),
      out: z.string().optional(),
      policies: nameList(POLICY_NAMES).optional(),
    }),
    {
      usage: 'npm run experiment --',
      summary: 'the same federated training once per policy or rule (same seed, devices and rounds), then tables and plots in results/<preset>/',
      examples: ['npm run experiment -- --preset smoke', 'npm run experiment -- --preset paper --parallel 2 --json', 'npm run experiment -- --preset robust --parallel 2'],
    },
  );
  if (!flags) return;
  if (flags.preset === 'robust' || flags.preset === 'privacy') {
    const { robustExperiment } = await import('./robust');
    return robustExperiment({ study: flags.preset, json: flags.json, parallel: flags.parallel, out: flags.out, command: `npm run experiment -- ${argv.join(' ')}` });
  }
  const preset = PRESETS[flags.preset];
  const policies = flags.policies ?? preset.policies;
  if (!policies.includes('fedavg-32')) throw new UsageError('--policies must include fedavg-32: every figure is reported relative to it');
  const outDir = flags.out ?? join(REPO_ROOT, 'results', flags.preset);
  mkdirSync(join(outDir, 'configs'), { recursive: true });
  const started = Date.now();
  const log = (line: string) => process.stderr.write(line + '\n');
  log(`experiment ${flags.preset}: ${preset.about}; policies ${policies.join(', ')}; ${flags.parallel} at a time`);

  const runs = await pool(policies, flags.parallel, async (name) => {
    const t = Date.now();
    const run = await runPolicy(name, preset, outDir);
    log(`  ${name.padEnd(11)} done in ${((Date.now() - t) / 1000).toFixed(0)} s: energy ${run.json.energyJ.toFixed(3)} J*, up ${formatBytes(run.json.uplinkBytes)}, FID-MNIST ${run.json.fid?.toFixed(2) ?? 'n/a'}`);
    return run;
  });

  const results: Record<string, PolicyResult> = {};
  policies.forEach((name, i) => {
    const j = runs[i].json;
    results[name] = {
      energyJ: j.energyJ,
      computeJ: j.computeJ,
      transmitJ: j.transmitJ,
      uplinkBytes: j.uplinkBytes,
      downlinkBytes: j.downlinkBytes,
      rounds: j.rounds,
      fid: j.fid,
      diversity: j.diversity,
      wallS: j.wallS,
      runDir: relative(REPO_ROOT, join(outDir, 'runs', name)),
    };
  });
  const base = results['fedavg-32'];
  for (const r of Object.values(results)) {
    r.relativeToFedAvg = {
      energy: r.energyJ / base.energyJ,
      uplinkBytes: r.uplinkBytes / base.uplinkBytes,
      fid: r.fid !== null && base.fid !== null ? r.fid / base.fid : null,
    };
  }

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
    dependsOn: runDependencies(preset, policies, outDir),
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
  const bitValues = [1, 2, 4, 8, 16, 32];
  const counts = (name: string, i: number) => bitValues.map((b) => runs[i].summaries.flatMap((s) => s.devices.filter((d) => d.status === 'accepted' && d.bits === b)).length);
  writeFileSync(
    join(outDir, 'bits-histogram.svg'),
    barChart('Assigned precision over devices and rounds', 'bits', 'device-rounds', bitValues.map(String), policies.map((name, i) => ({ name, values: counts(name, i) }))),
  );
  log(`wrote ${relative(process.cwd(), outDir)}/summary.md, summary.json, configs/ and four plots in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(readFileSync(join(outDir, 'summary.md'), 'utf8'));
  if (flags.json) process.stdout.write(JSON.stringify({ preset: flags.preset, policies: results }) + '\n');
}

function summaryMarkdown(summary: { preset: string; date: string; machine: string; command: string; about: string; wallS: number }, policies: string[]): string {
  const results = (summary as unknown as { policies: Record<string, PolicyResult> }).policies;
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const rows = policies.map((p) => {
    const r = results[p];
    return [
      p,
      r.energyJ.toFixed(3),
      r.computeJ.toFixed(3),
      r.transmitJ.toFixed(3),
      formatBytes(r.uplinkBytes),
      formatBytes(r.downlinkBytes),
      r.rounds,
      r.wallS.toFixed(0),
      r.fid?.toFixed(2) ?? 'n/a',
      r.diversity?.toFixed(3) ?? 'n/a',
      pct(r.relativeToFedAvg?.energy),
      pct(r.relativeToFedAvg?.uplinkBytes),
      pct(r.relativeToFedAvg?.fid),
    ];
  });
  const header = ['policy', 'energy J*', 'compute J*', 'transmit J*', 'uplink', 'downlink', 'rounds', 'wall s', 'FID-MNIST', 'class entropy (bits)', 'energy vs FedAvg', 'uplink vs FedAvg', 'FID vs FedAvg'];
  const md = [header, header.map(() => '---'), ...rows.map((r) => r.map(String))].map((r) => `| ${r.join(' | ')} |`).join('\n');
  return `# Experiment \`${summary.preset}\`

${summary.about}.

- date: ${summary.date}
- machine: ${summary.machine}
- command: \`${summary.command}\`
- total wall time: ${summary.wallS.toFixed(0)} s

${md}

\\* Energy is modelled, not measured (packages/core/src/energy: Horowitz 45 nm per-MAC energy scaled
by (n/32)^1.25 after Moons et al., transmit power times bits over the measured uplink rate).
FID-MNIST is a Frechet distance in the features of a small MNIST classifier, not the Inception FID.

Plots: energy-vs-fid.svg, cumulative-energy.svg, bytes-per-round.svg, bits-histogram.svg.
`;
}
