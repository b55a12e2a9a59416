// One simulation variant run in its own process, and what the experiments share around it: a
// small worker pool (so `--parallel 2` uses both cores) and the record of what a run depends on.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundSummary } from '@fedbit/core';
import type { DeviceProfile } from '@fedbit/client';
import { REPO_ROOT, RunStore, resolveRunConfig, type RunConfigInput } from '@fedbit/server';
import { simulationJson } from './report';

export type RunJson = ReturnType<typeof simulationJson>;

export interface Variant {
  devices: number;
  rounds: number;
  seed: number;
  config: RunConfigInput;
  /** The fleet, when not the seeded default (generateProfiles(devices, seed)). */
  profiles?: DeviceProfile[];
}
export type VariantRun = { json: RunJson; summaries: RoundSummary[] };

/** One simulation in its own process (configs/<name>.json, runs/<name>/), its JSON line and its round summaries. */
export function runVariant(name: string, variant: Variant, outDir: string): Promise<VariantRun> {
  const configPath = join(outDir, 'configs', `${name}.json`);
  const runDir = join(outDir, 'runs', name);
  // The rounds and seed simulate runs with (--rounds, --seed), so the saved config is the run's whole config.
  const config = resolveRunConfig({ ...variant.config, runId: name, rounds: variant.rounds, seed: variant.seed }, `variant ${name}`);
  mkdirSync(join(outDir, 'configs'), { recursive: true });
  writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n');
  const args = ['--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/main.ts'), 'simulate', '--devices', String(variant.devices), '--rounds', String(variant.rounds), '--seed', String(variant.seed), '--config', configPath, '--run-dir', runDir, '--json'];
  if (variant.profiles) {
    const profilesPath = join(outDir, 'configs', `${name}.profiles.json`);
    writeFileSync(profilesPath, JSON.stringify(variant.profiles, null, 2) + '\n');
    args.push('--profiles', profilesPath);
  }
  const done = finishedRun(runDir, config, variant);
  if (done) return Promise.resolve(done);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`policy ${name} failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`));
      const last = out.trim().split('\n').at(-1) ?? '{}';
      const { store } = RunStore.open(runDir);
      resolve({ json: JSON.parse(last) as RunJson, summaries: store.readSummaries() });
    });
  });
}

/**
 * A run an earlier, interrupted invocation of the same experiment already finished: its run
 * directory holds a checkpoint at the last round and the same resolved config. Its figures are
 * read back from its records (wall time: the sum of its rounds'), so an experiment stopped midway
 * continues where it stopped instead of refusing the existing run directory.
 */
function finishedRun(runDir: string, config: ReturnType<typeof resolveRunConfig>, variant: Variant): VariantRun | null {
  if (!existsSync(join(runDir, 'checkpoint.bin'))) return null;
  const { store, config: saved, checkpoint } = RunStore.open(runDir);
  // simulate sets the rounds and seed from --rounds and --seed and starts the run itself once every device has reported
  const runs = (c: object) => canonical({ ...c, rounds: 0, autoStart: false, seed: variant.seed });
  const same = runs(saved as object) === runs(config);
  if (!checkpoint || checkpoint.state.round < variant.rounds || !same) {
    throw new Error(`${runDir} holds another or an unfinished run (round ${checkpoint?.state.round ?? 0} of ${variant.rounds}); remove it or choose another --out`);
  }
  const summaries = store.readSummaries();
  const json = simulationJson({ runDir, summaries, profiles: new Array(variant.devices), paramCount: checkpoint.weights.length, wallS: summaries.reduce((a, s) => a + s.wallS, 0) });
  process.stderr.write(`  reusing the finished run in ${runDir}\n`);
  return { json, summaries };
}

/** JSON with object keys sorted, so two equal configs compare equal whatever order their keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** What a run's figures are a function of: a rerun with the same values gives the same table (wall times aside). */
export function runDependencies(preset: { seed: number }, policies: string[], outDir: string) {
  const version = (pkg: string) => {
    try {
      return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return null;
    }
  };
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = null;
  }
  const configHashes = Object.fromEntries(
    policies.map((name) => [name, createHash('sha256').update(readFileSync(join(outDir, 'configs', `${name}.json`))).digest('hex').slice(0, 16)]),
  );
  return {
    seed: preset.seed,
    commit,
    node: process.version,
    tfjs: version('@tensorflow/tfjs-core'),
    backend: 'wasm (tfjs-backend-wasm ' + (version('@tensorflow/tfjs-backend-wasm') ?? '?') + ')',
    linkRates: 'profile: uploads report each profile rate exactly',
    order: 'devices join in profile order; each round sums updates in seat order',
    configSha256: configHashes,
  };
}

export async function pool<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]);
      }
    }),
  );
  return results;
}
