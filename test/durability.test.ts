// Nothing is lost: the aggregator runs as its own process (`npm start`'s entry point), is killed
// with SIGKILL mid-run, restarted with --resume, and every completed round is still there; the
// devices reconnect by themselves and the run finishes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRuntime, generateProfiles, simulatedTelemetry } from '@fedbit/client';
import { diskData } from '@fedbit/client/node';
import { REPO_ROOT, decodeCheckpoint } from '@fedbit/server';
import { fastConfig, getJson, tmpRunDir, waitFor } from './helpers';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function serve(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'serve', '--no-build', '--local', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', () => undefined);
  return child;
}

function roundLines(runDir: string): Array<{ round: number; summary: unknown }> {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((l) => l.type === 'round');
}

let children: ChildProcess[] = [];
let runtimes: DeviceRuntime[] = [];
afterEach(async () => {
  runtimes.forEach((r) => r.stop());
  await Promise.all(runtimes.map((r) => r.done()));
  children.forEach((c) => c.kill('SIGKILL'));
  children = [];
  runtimes = [];
});

describe('kill -9 and --resume', () => {
  it('keeps every completed round and finishes the run', async () => {
    const runDir = tmpRunDir();
    const port = await freePort();
    const configPath = join(dirname(runDir), 'config.json');
    writeFileSync(configPath, JSON.stringify(fastConfig({ rounds: 5, quorum: 3, policy: { kind: 'on-demand' } as never })));
    const base = ['--port', String(port), '--join-code', 'durable', '--admin-token', 'durable-admin-token-0123'];
    const url = `http://localhost:${port}`;

    children.push(serve([...base, '--run-dir', runDir, '--config', configPath]));
    await waitFor('the server', () => getJson(`${url}/healthz`).then((r) => r.status === 200, () => false), 60_000);
    runtimes = generateProfiles(3, 5).map(
      (profile) =>
        new DeviceRuntime({
          url,
          joinCode: 'durable',
          name: profile.name,
          platform: 'node',
          telemetry: simulatedTelemetry({ ...profile, battery: 0.9 }),
          data: diskData(),
          backend: 'wasm',
          reconnectDelayMs: 200,
          reconnectDelayMaxMs: 1000,
        }),
    );
    await Promise.all(runtimes.map((r) => r.start()));
    await waitFor('two completed rounds', () => getJson(`${url}/api/status`).then((r) => r.body.round >= 2, () => false));

    children[0].kill('SIGKILL');
    await new Promise((r) => children[0].once('exit', r));
    const before = roundLines(runDir);
    const kept = before.length;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(before.map((l) => l.round)).toEqual(Array.from({ length: kept }, (_, i) => i + 1));

    children.push(serve([...base, '--resume', runDir]));
    const done = await waitFor('the resumed run to finish', () => getJson(`${url}/api/status`).then((r) => (r.body.phase === 'done' ? r.body : null), () => null), 180_000);
    expect(done.round).toBe(5);

    const after = roundLines(runDir);
    expect(after.map((l) => l.round)).toEqual([1, 2, 3, 4, 5]);
    // The rounds completed before the crash are exactly as they were.
    expect(after.slice(0, kept)).toEqual(before);
    // The sampling EMA went on across the crash: it has folded in every committed version.
    const checkpoint = decodeCheckpoint(new Uint8Array(readFileSync(join(runDir, 'checkpoint.bin'))));
    expect(checkpoint.state.ema?.updates).toBe(5);
    expect(checkpoint.ema?.length).toBe(checkpoint.weights.length);
    expect(checkpoint.ema).not.toEqual(checkpoint.weights);
    const model = JSON.parse(readFileSync(join(runDir, 'model', 'model.json'), 'utf8'));
    expect(model.format).toBe('graph-model');
    for (const path of model.weightsManifest[0].paths) expect(existsSync(join(runDir, 'model', path))).toBe(true);
    expect(existsSync(join(runDir, 'model', 'model.safetensors'))).toBe(true);
  });
});
