// Benchmark (not a test): one aggregator, 200 lightweight devices in another process replaying
// prepared 4-bit updates of a ~1.1 M-parameter model (the `default` DDPM at 28x28). Reports rounds
// per minute, the aggregator's CPU time per round (user + system of its own process), the bytes the
// aggregator itself wrote to its TCP sockets per round (Socket.IO and HTTP together: what leaves
// the machine, whatever a round summary accounts), and the memory each joined connection adds.
// At scale (issue 17, item 4): `--devices 10000 --per-round 1000 --policy on-demand` joins ten
// thousand trace-driven devices (replay-devices.ts: seeded profiles, battery drained per round,
// uploads timed at each profile's link rate), the server picks a round's devices among them and the
// policy chooses every picked device's precision; the planning time per round is reported too.
// `npm run bench:server [-- --devices 200 --per-round N --rounds 5 --policy fixed|on-demand --bits 4 --model tiny|small|default --model-cache none|shared --downlink-bits 32|16 --json]`
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import { REPO_ROOT, resolveRunConfig, startServer } from '@fedbit/server';
import { parseFlags, wholeNumber } from '../args';
import { table } from '../report';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import type { Bits } from '@fedbit/core';
import type { ReplayOptions } from './replay-devices';

const flags = parseFlags(
  process.argv.slice(2),
  {
    devices: { type: 'string', default: '200', placeholder: 'n', description: 'replaying devices (real Socket.IO connections), each a seeded trace-driven profile' },
    'per-round': { type: 'string', placeholder: 'n', description: 'devices picked per round (default: all of them)' },
    policy: { type: 'string', default: 'fixed', placeholder: 'fixed|on-demand', description: 'fixed: every update at --bits; on-demand: the policy picks each device\'s precision from its battery, link and update statistics' },
    model: { type: 'string', default: 'default', placeholder: 'tiny|small|default', description: 'model size (default: the 1 M-parameter U-Net at 28x28; tiny: 75,589 parameters at 16x16)' },
    rounds: { type: 'string', default: '5', placeholder: 'n', description: 'rounds to time' },
    bits: { type: 'string', default: '4', placeholder: 'n', description: 'update precision: 1, 2, 4, 8, 16 or 32' },
    'model-cache': { type: 'string', default: 'none', placeholder: 'none|shared', description: 'devices fetch the model straight from the aggregator, or through one shared cache (a CDN edge, a caching proxy)' },
    'downlink-bits': { type: 'string', default: '32', placeholder: '32|16', description: 'precision of the model sent down (16: IEEE half, lossy)' },
    json: { type: 'boolean', description: 'end with one JSON line' },
  },
  z.object({
    devices: wholeNumber(1, 20000),
    'per-round': wholeNumber(1, 20000).optional(),
    policy: z.enum(['fixed', 'on-demand']),
    model: z.enum(['tiny', 'small', 'default']),
    rounds: wholeNumber(1, 100),
    bits: wholeNumber(1, 32).pipe(z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32)], { message: 'expected 1, 2, 4, 8, 16 or 32' })),
    'model-cache': z.enum(['none', 'shared']),
    'downlink-bits': z.enum(['32', '16']).transform(Number).pipe(z.union([z.literal(32), z.literal(16)])),
    json: z.boolean(),
  }),
  { usage: 'npm run bench:server --', summary: 'one aggregator and N replaying devices of the 1 M-parameter model: rounds per minute, CPU and bytes per round', examples: ['npm run bench:server', 'npm run bench:server -- --devices 1000 --rounds 3 --json', 'npm run bench:server -- --model-cache shared', 'npm run bench:server -- --devices 10000 --per-round 1000 --policy on-demand --model tiny --model-cache shared --rounds 3'] },
) ?? process.exit(0);

/** A full collection before each memory reading, so the figures are live memory rather than garbage. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const picked = Math.min(flags['per-round'] ?? flags.devices, flags.devices);
const config = resolveRunConfig({
  rounds: flags.rounds,
  devicesPerRound: picked,
  minDevices: picked,
  quorum: picked,
  deadlineS: 600,
  localSteps: 1,
  // At most 1,000 shards (MNIST's training split leaves a shard of 9 images there); devices beyond share them.
  dataset: { name: 'mnist', imageSize: flags.model === 'default' ? 28 : 16, shards: Math.min(flags.devices, 1000) },
  model: { size: flags.model },
  policy: (flags.policy === 'fixed' ? { kind: 'fixed', bits: flags.bits } : { kind: 'on-demand' }) as never,
  // With --per-round, as in a real room: the trace's phones drain, and one under the threshold and
  // not charging is not picked. Without it every device is in every round, whatever its battery.
  allowLowBattery: flags['per-round'] === undefined,
  eval: { every: 0, final: false },
  downlinkBits: flags['downlink-bits'],
});
const server = await startServer({
  port: 0,
  config,
  runDir: join(mkdtempSync(join(tmpdir(), 'fedbit-bench-')), 'run'),
  webRoot: null,
  logger: pino({ level: 'warn' }),
  rateLimit: { perSecond: 1000, burst: 1000, disconnectAfterStrikes: 1_000_000 },
});
server.coordinator.pause();
const params = server.host.paramCount;

// Every byte the aggregator writes to any TCP connection (WebSocket frames and HTTP responses alike).
let closedBytesWritten = 0;
const liveSockets = new Set<Socket>();
server.io.httpServer.on('connection', (socket: Socket) => {
  liveSockets.add(socket);
  socket.once('close', () => {
    liveSockets.delete(socket);
    closedBytesWritten += socket.bytesWritten;
  });
});
const bytesSent = () => {
  let total = closedBytesWritten;
  for (const socket of liveSockets) total += socket.bytesWritten;
  return total;
};
// The aggregator's event loop: its longest stall while the devices join, and while the rounds run.
const joinLoop = monitorEventLoopDelay({ resolution: 10 });
joinLoop.enable();
// A dashboard on /watch, in a process of its own: the size of each status pushed to it.
const watcher = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/bench/watch-status.ts'), server.url], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
const statusBytes: number[] = [];
watcher.stdout.on('data', (d: Buffer) => {
  for (const line of d.toString().split('\n')) if (line.startsWith('status ')) statusBytes.push(Number(line.slice(7)));
});
await new Promise<void>((resolve) => watcher.stdout.on('data', (d: Buffer) => d.toString().includes('watching') && resolve()));
collectGarbage();
const memoryBefore = process.memoryUsage();
const replay: ReplayOptions = {
  url: server.url,
  joinCode: server.joinCode,
  devices: flags.devices,
  rounds: flags.rounds,
  bits: flags.policy === 'fixed' ? [flags.bits] : (config.allowedBits as Bits[]),
  params,
  blockSize: config.codec.blockSize,
  modelCache: flags['model-cache'],
  seed: 1,
};
const child = spawn(process.execPath, ['--max-old-space-size=8192', '--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/bench/replay-devices.ts'), JSON.stringify(replay)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('joined') && resolve()));
joinLoop.disable();
collectGarbage();
const memoryJoined = process.memoryUsage();
const roundLoop = monitorEventLoopDelay({ resolution: 10 });
roundLoop.enable();

/** The aggregator's own account of planning (the devices' demands and the policy's solve), from GET /metrics. */
async function planTotals(): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('fedbit_plan_seconds_sum'), count: read('fedbit_plan_seconds_count') };
}

const perRound: Array<{ round: number; wallS: number; cpuS: number; uplinkBytes: number; modelBytes: number; sentBytes: number; meanBits: number; planMs: number | null; solveMs: number | null }> = [];
let cpu = process.cpuUsage();
let sent = bytesSent();
let t = performance.now();
const started = t;
const done = new Promise<void>((resolve) => {
  server.io.of('/watch').on('connection', () => undefined);
  server.coordinator.onCommitted((summary) => {
    const used = process.cpuUsage(cpu);
    const now = performance.now();
    const sentNow = bytesSent();
    const accepted = summary.devices.filter((d) => d.status === 'accepted');
    const meanBits = accepted.reduce((a, d) => a + d.bits, 0) / Math.max(1, accepted.length);
    const row = { round: summary.round, wallS: (now - t) / 1000, cpuS: (used.user + used.system) / 1e6, uplinkBytes: summary.uplinkBytes, modelBytes: summary.downlinkBytes, sentBytes: sentNow - sent, meanBits, planMs: summary.planS === undefined ? null : summary.planS * 1000, solveMs: summary.solveS === undefined ? null : summary.solveS * 1000 };
    perRound.push(row);
    sent = sentNow;
    cpu = process.cpuUsage();
    t = now;
    if (summary.round >= flags.rounds) resolve();
  });
});
// A dropped round (devices lost their connections on a machine too busy to answer pings) would
// leave the run waiting for devices that never come back: say so and stop.
const dropped = new Promise<never>((_, reject) => {
  server.coordinator.onChange(() => {
    const { droppedRounds, lastRound } = server.coordinator.snapshot;
    if (droppedRounds > 0) reject(new Error(`a round was dropped (${lastRound?.message ?? 'quorum not reached'}); try fewer --devices on this machine`));
  });
});
process.stderr.write(`bench:server: ${flags.devices} devices joined; training ${flags.rounds} rounds\n`);
server.coordinator.start();
try {
  await Promise.race([done, dropped]);
} catch (error) {
  process.stderr.write(`bench:server: ${(error as Error).message}\n`);
  child.kill();
  watcher.kill();
  await server.close();
  process.exit(1);
}
const totalS = (performance.now() - started) / 1000;
roundLoop.disable();
const plans = await planTotals();
child.kill();
watcher.kill();
await server.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  devices: flags.devices,
  devicesPerRound: picked,
  policy: flags.policy,
  model: flags.model,
  params,
  bits: flags.bits,
  rounds: flags.rounds,
  modelCache: flags['model-cache'],
  downlinkBits: flags['downlink-bits'],
  roundsPerMinute: flags.rounds / (totalS / 60),
  serverCpuSPerRound: median(perRound.map((r) => r.cpuS)),
  wallSPerRound: median(perRound.map((r) => r.wallS)),
  uplinkBytesPerRound: perRound[0]?.uplinkBytes ?? 0,
  /** Bytes the aggregator itself wrote to its sockets per round (median; Socket.IO and HTTP). */
  downlinkBytesPerRound: median(perRound.map((r) => r.sentBytes)),
  /** The model bytes the devices received per round, from the aggregator or a cache (the round summary's figure). */
  modelBytesToDevicesPerRound: perRound[0]?.modelBytes ?? 0,
  /** Planning one round (every picked device's demand, then the policy's solve), mean over the rounds planned. */
  planMsPerRound: (plans.sum / Math.max(1, plans.count)) * 1000,
  /** The policy's solve alone (its share of planning), per committed round, from the round summaries. */
  solveMsPerRound: perRound.map((r) => r.solveMs),
  meanBits: perRound.reduce((a, r) => a + r.meanBits, 0) / Math.max(1, perRound.length),
  /** Growth of the aggregator's heap and resident memory from before the devices joined to after, per connection. */
  heapBytesPerConnection: Math.round((memoryJoined.heapUsed - memoryBefore.heapUsed) / flags.devices),
  rssBytesPerConnection: Math.round((memoryJoined.rss - memoryBefore.rss) / flags.devices),
  /** The aggregator's longest event-loop stall (ms) while the devices joined, and while the rounds ran. */
  maxLoopDelayMsJoin: Math.round(joinLoop.max / 1e6),
  maxLoopDelayMs: Math.round(roundLoop.max / 1e6),
  /** The status pushes a dashboard on /watch received over the whole run, and the largest (bytes on the wire). */
  watchStatusPushes: statusBytes.length,
  watchStatusMaxBytes: Math.max(0, ...statusBytes),
  watchStatusBytesTotal: statusBytes.reduce((a, b) => a + b, 0),
};
process.stdout.write(
  table(
    ['round', 'wall s', 'server CPU s', 'planning ms', 'policy solve ms', 'mean bits', 'uplink MB', 'model to devices MB', 'server sent MB'],
    perRound.map((r) => [r.round, r.wallS.toFixed(2), r.cpuS.toFixed(2), r.planMs?.toFixed(1) ?? '-', r.solveMs?.toFixed(1) ?? '-', r.meanBits.toFixed(2), (r.uplinkBytes / 1e6).toFixed(1), (r.modelBytes / 1e6).toFixed(1), (r.sentBytes / 1e6).toFixed(1)]),
  ) +
    `\n\n${flags.devices} devices, ${picked} per round, policy ${flags.policy} (model cache: ${flags['model-cache']}, downlink ${flags['downlink-bits']} bits), ${params} parameters at ${flags.policy === 'fixed' ? `${flags.bits} bits` : `${result.meanBits.toFixed(2)} bits on average`}: ${result.roundsPerMinute.toFixed(2)} rounds/min, planning ${result.planMsPerRound.toFixed(1)} ms per round, median server CPU ${result.serverCpuSPerRound.toFixed(2)} s per round, ` +
    `${(result.downlinkBytesPerRound / 1e6).toFixed(1)} MB sent by the server per round, ${(result.heapBytesPerConnection / 1024).toFixed(1)} KiB heap (${(result.rssBytesPerConnection / 1024).toFixed(1)} KiB RSS) per connection; longest event-loop stall ${result.maxLoopDelayMsJoin} ms while joining, ${result.maxLoopDelayMs} ms in the rounds; ${result.watchStatusPushes} status pushes to /watch, the largest ${(result.watchStatusMaxBytes / 1e3).toFixed(1)} kB (${result.machine})\n`,
);
if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
