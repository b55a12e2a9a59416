// `npm run bench:secagg-live`: what secure aggregation as a run mode costs per round, against plain
// aggregation, on loopback: a real aggregator (startServer) and N Socket.IO devices in this process
// (5 and 20 by default, the tiny model), rounds at 4 bits. The devices do not train (each makes up
// an update within the grid's bound), so the wall time is the protocol's: tasks out, uploads or the
// four secure steps, the merge or the unmasking, the commit. Per run: bytes a device sends per round
// (as the aggregator counts them: the frame, or everything of the four steps) and the round's wall
// time (median over the rounds after the first). Ends with one JSON line with --json.
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { DeviceEvent, PROTOCOL_VERSION, ServerEvent, encodeOnGrid, encodeUpdate, type Ack, type Task } from '@fedbit/core';
import { SecureInbox, listenSecure, runSecureRound } from '@fedbit/client';
import { resolveRunConfig, startServer } from '@fedbit/server';
import { nameList, parseFlags, wholeNumber } from '../args';
import { table } from '../report';

const flags =
  parseFlags(
    process.argv.slice(2),
    {
      devices: { type: 'string', default: '5,20', placeholder: 'list', description: 'round sizes to run' },
      rounds: { type: 'string', default: '4', placeholder: 'n', description: 'rounds per run (the first is not counted in the wall time)' },
      json: { type: 'boolean', description: 'end with one JSON line' },
    },
    z.object({ devices: nameList(['5', '10', '20', '50']), rounds: wholeNumber(2, 100), json: z.boolean() }),
    { usage: 'npm run bench:secagg-live --', summary: 'secure aggregation as a run mode against plain aggregation: bytes per device and round wall time on loopback', examples: ['npm run bench:secagg-live', 'npm run bench:secagg-live -- --devices 5 --rounds 3'] },
  ) ?? process.exit(0);

const BITS = 4;

function madeUpUpdate(length: number, seed: number, bound: number): Float32Array {
  let x = seed >>> 0;
  return Float32Array.from({ length }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return ((x / 2 ** 32) * 2 - 1) * bound * 0.5;
  });
}

/** One device: answers each task with a made-up update, plain (device:update) or through the secure steps. */
function benchDevice(url: string, joinCode: string, name: string, length: number): Promise<Socket> {
  const socket = io(url, { auth: { joinCode }, transports: ['websocket'], reconnection: false, forceNew: true });
  const inbox = new SecureInbox();
  listenSecure(socket, inbox, (error) => process.stderr.write(`${name}: ${error.message}\n`));
  socket.on(ServerEvent.cancel, (c: { round: number; reason: string }) => inbox.cancel(c.round, c.reason));
  const send = (event: string, payload: object, data?: Uint8Array) => (data ? socket.timeout(30_000).emitWithAck(event, payload, data) : socket.timeout(30_000).emitWithAck(event, payload)) as Promise<Ack>;
  socket.on(ServerEvent.task, (task: Task) => {
    const record = { samples: 100, steps: task.localSteps, trainMs: 1, loss: 0.5 };
    const secure = task.secureAggregation;
    const update = madeUpUpdate(length, task.seed, secure ? secure.scales[0] : 1e-3);
    const done = secure
      ? runSecureRound({ send, inbox }, { round: task.round, input: encodeOnGrid(update, { bits: secure.gridBits, blockSize: task.blockSize, scales: secure.scales }, task.bits, task.seed), gridBits: secure.gridBits, record, stepTimeoutMs: 60_000 })
      : send(DeviceEvent.update, { round: task.round, ...record, updateNormSq: 1 }, encodeUpdate(update, { bits: task.bits, round: task.round, blockSize: task.blockSize, seed: task.seed }));
    // Once the run has its rounds the bench disconnects: an answer lost then is not a failure.
    done.catch((error: Error) => socket.connected && process.stderr.write(`${name}: round ${task.round}: ${error.message}\n`));
  });
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      const hello = { protocol: PROTOCOL_VERSION, name, platform: 'node', backend: 'wasm', telemetry: { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' } };
      socket
        .timeout(30_000)
        .emitWithAck(DeviceEvent.hello, hello)
        .then((reply: Ack) => (reply.ok ? resolve(socket) : reject(new Error(reply.reason))), reject);
    });
  });
}

async function run(n: number, secure: boolean) {
  const config = resolveRunConfig({
    rounds: flags.rounds,
    devicesPerRound: n,
    minDevices: n,
    quorum: 2,
    deadlineS: 60,
    localSteps: 2,
    batchSize: 4,
    policy: { kind: 'fixed', bits: BITS },
    allowedBits: [BITS],
    dataset: { name: 'mnist', imageSize: 16, partition: 'iid', shards: n },
    model: { size: 'tiny', schedule: { kind: 'cosine', steps: 100 } },
    eval: { every: 0, final: false },
    emaDecay: 0,
    secureAggregation: secure ? {} : null,
  });
  const server = await startServer({ port: 0, config, runDir: join(mkdtempSync(join(tmpdir(), 'fedbit-bench-')), 'run'), webRoot: null, logger: pino({ level: 'silent' }), adminToken: 'bench-admin-token-0123456789', joinCode: 'benchcode' });
  const length = server.coordinator.global.length;
  const sockets = await Promise.all(Array.from({ length: n }, (_, i) => benchDevice(server.url, 'benchcode', `bench-${i}`, length)));
  await new Promise<void>((resolve) => server.coordinator.onCommitted((s) => s.round >= flags.rounds && resolve()));
  const summaries = server.coordinator.summaries;
  const later = summaries.slice(1).map((s) => s.wallS).sort((a, b) => a - b);
  const accepted = summaries.flatMap((s) => s.devices.filter((d) => d.status === 'accepted'));
  const result = {
    devices: n,
    mode: secure ? 'secure' : 'plain',
    params: length,
    bytesPerDevice: Math.round(accepted.reduce((a, d) => a + d.frameBytes, 0) / accepted.length),
    roundWallS: later[Math.floor(later.length / 2)],
    accepted: Math.min(...summaries.map((s) => s.accepted)),
  };
  sockets.forEach((s) => s.disconnect());
  await server.close();
  return result;
}

const results: Awaited<ReturnType<typeof run>>[] = [];
for (const n of flags.devices.map(Number)) {
  for (const secure of [false, true]) {
    process.stderr.write(`${secure ? 'secure' : 'plain'} aggregation, ${n} devices, ${flags.rounds} rounds...\n`);
    results.push(await run(n, secure));
  }
}
process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; aggregator and devices in one process on loopback, no training\n`);
process.stdout.write(
  table(
    ['devices', 'mode', 'params', 'bytes/device/round', 'x plain', 'round wall s (median)', 'min accepted'],
    results.map((r) => {
      const plain = results.find((p) => p.devices === r.devices && p.mode === 'plain')!;
      return [r.devices, r.mode, r.params, r.bytesPerDevice, (r.bytesPerDevice / plain.bytesPerDevice).toFixed(2), r.roundWallS.toFixed(3), r.accepted];
    }),
  ) + '\n',
);
if (flags.json) process.stdout.write(JSON.stringify({ bits: BITS, rounds: flags.rounds, results }) + '\n');
