// Lightweight devices for the server benchmark: they join over Socket.IO and answer every task at
// once with a prepared encoded update at the precision the task asks (no training), so the
// aggregator's own cost is what is measured. Trace-driven (issue 17, item 4): each device is one of
// the seeded heterogeneous profiles the simulator uses (packages/client/src/profiles.ts), reports
// its class, preference and battery at join, and after each upload reports its battery drained by
// its profile and the upload timed at its profile's link rate, so the precision policy meets the
// same fleet a simulation would, without tfjs in any device.
// Each fetches the model its task names over HTTP and checks its SHA-256, as a real device does:
// straight from the aggregator (modelCache 'none'), or through one cache shared by all of them
// ('shared': one request to the aggregator per model version, the others wait for it and reuse
// it, as behind a CDN edge or a caching reverse proxy with request coalescing).
// For a cluster (bench:cluster), devices spread over the nodes' URLs and, when their node dies,
// reconnect to the next one with their id and resume token, as behind a load balancer.
// Usage: tsx replay-devices.ts '<JSON of ReplayOptions>'
import { createHash } from 'node:crypto';
import { io } from 'socket.io-client';
import { generateProfiles } from '@fedbit/client';
import { DeviceEvent, PROTOCOL_VERSION, ServerEvent, blockScaleSq, encodeUpdate, modelPath, updateStats, type Bits, type Task } from '@fedbit/core';

export interface ReplayOptions {
  url: string;
  joinCode: string;
  devices: number;
  rounds: number;
  /** The precisions a task may ask for; a frame is prepared for each. */
  bits: Bits[];
  params: number;
  blockSize: number;
  modelCache: 'none' | 'shared';
  /** Seed of the fleet's profiles. */
  seed: number;
  /** A cluster's nodes: device d connects to urls[d mod n] (default: [url]). */
  urls?: string[];
  /** On a lost connection, join again on the next URL with the same id and token (default false). */
  failover?: boolean;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ReplayOptions;
const { url, joinCode, devices, rounds, params } = options;
const VARIANTS = 4;

// Prepared before any device connects: VARIANTS distinct updates for every round and precision,
// with the statistics a real device reports beside its update (the on-demand policy reads them).
const frames = new Map<string, Uint8Array>();
const stats: { normSq: number; maxAbs: number; scaleSq: number }[] = [];
for (let v = 0; v < VARIANTS; v++) {
  const update = new Float32Array(params);
  for (let i = 0; i < params; i++) update[i] = Math.sin(i * 0.001 + v) * 1e-3 * (1 + v / 4);
  const { normSq, maxAbs } = updateStats(update);
  stats.push({ normSq, maxAbs, scaleSq: Math.max(normSq, blockScaleSq(update, options.blockSize)) });
  for (let round = 1; round <= rounds; round++) {
    for (const bits of options.bits) frames.set(`${round}:${v}:${bits}`, encodeUpdate(update, { bits, round, seed: round * 31 + v, blockSize: options.blockSize }));
  }
}
process.stdout.write('prepared\n');

const shared = new Map<string, Promise<Uint8Array>>();

async function download(href: string, sha256: string): Promise<Uint8Array> {
  // Once more on a network error (a kept-alive connection closed just as the request went out), as the device runtime does.
  const response = await fetch(href).catch(() => fetch(href));
  if (response.status !== 200) throw new Error(`model: HTTP ${response.status} ${await response.text()}`);
  const body = new Uint8Array(await response.arrayBuffer());
  if (createHash('sha256').update(body).digest('hex') !== sha256) throw new Error(`model at ${href}: SHA-256 mismatch`);
  return body;
}

function fetchModel(task: Task, base: string): Promise<Uint8Array> {
  const href = new URL(modelPath(task.model), base).href;
  if (options.modelCache !== 'shared') return download(href, task.model.sha256);
  let copy = shared.get(href);
  if (!copy) {
    copy = download(href, task.model.sha256);
    shared.set(href, copy);
  }
  return copy;
}

const urls = options.urls ?? [url];
const identities = new Map<number, { deviceId: string; resumeToken?: string }>();
const everJoined = new Set<number>();
let rejoins = 0;

const profiles = generateProfiles(devices, options.seed);
let joined = 0;
// Devices arrive a few hundred at a time, as a crowd does: ten thousand connection attempts at
// once overflow the listen backlog, and the ones past it time out before they are accepted.
const JOINING_AT_ONCE = 256;
let next = 0;
const admitNext = () => {
  if (next < devices) startDevice(next++);
};
for (let i = 0; i < Math.min(JOINING_AT_ONCE, devices); i++) admitNext();

function startDevice(d: number, attempt = 0): void {
  const profile = profiles[d];
  let battery = profile.battery;
  const base = urls[(d + attempt) % urls.length];
  const telemetry = () => ({
    battery,
    charging: profile.charging,
    preference: profile.preference,
    deviceClass: profile.deviceClass,
    transmitPowerW: profile.transmitPowerW,
    // Until its first upload is timed, the aggregator reads the link from this hint, as a browser's navigator.connection.
    connectionHint: { downlinkMbps: profile.uplinkBps / 1e6 },
  });
  const socket = io(base, { auth: { joinCode }, transports: ['websocket'], reconnection: false, forceNew: true });
  let left = false;
  const again = (next: number) => {
    if (left) return;
    left = true;
    socket.disconnect();
    setTimeout(() => startDevice(d, next), 500 + Math.random() * 1500);
  };
  socket.on('connect', async () => {
    const identity = identities.get(d);
    const reply = (await socket
      .timeout(20_000)
      .emitWithAck(DeviceEvent.hello, { protocol: PROTOCOL_VERSION, name: `replay-${d}`, platform: 'node', backend: 'cpu', telemetry: telemetry(), ...identity })
      .catch(() => null)) as { ok: boolean; deviceId?: string; resumeToken?: string } | null;
    if (!reply?.ok) {
      // A cluster between leaders answers 'unavailable': the same node again in a moment.
      if (options.failover) return again(attempt);
      process.stderr.write(`replay-${d}: join refused\n`);
      return;
    }
    identities.set(d, { deviceId: reply.deviceId!, resumeToken: reply.resumeToken ?? identity?.resumeToken });
    if (everJoined.has(d)) {
      rejoins++;
      return;
    }
    everJoined.add(d);
    if (++joined === devices) process.stdout.write('joined\n');
    else if (joined % 1000 === 0) process.stderr.write(`replay: ${joined} of ${devices} devices joined\n`);
    admitNext();
  });
  socket.on('connect_error', (error) => {
    if (options.failover) return again(attempt + 1);
    process.stderr.write(`replay-${d}: could not connect: ${error.message}\n`);
  });
  socket.on('disconnect', (reason) => {
    if (options.failover && reason !== 'io client disconnect') again(attempt + 1);
  });
  socket.on(ServerEvent.task, async (task: Task) => {
    try {
      await fetchModel(task, base);
    } catch (error) {
      process.stderr.write(`replay-${d}: ${(error as Error).message}; task ${task.round} skipped\n`);
      return;
    }
    const v = d % VARIANTS;
    const frame = frames.get(`${task.round}:${v}:${task.bits}`);
    if (!frame) return void process.stderr.write(`replay-${d}: task ${task.round} asks for ${task.bits} bits, which were not prepared\n`);
    const { normSq, maxAbs, scaleSq } = stats[v];
    try {
      await socket.emitWithAck(DeviceEvent.update, { round: task.round, samples: 100, steps: 1, trainMs: 0, loss: 0.1, updateNormSq: normSq, updateMaxAbs: maxAbs, updateScaleSq: scaleSq }, frame);
    } catch {
      return; // the connection closed under the upload (a node killed in bench:cluster): the device joins elsewhere
    }
    // The trace: this round's training drained the battery (unless charging); the upload took what the profile's link allows.
    if (battery !== null && !profile.charging) battery = Math.max(0, Math.round((battery - (profile.drainPerRound ?? 0.01)) * 1000) / 1000);
    socket.emit(DeviceEvent.telemetry, { ...telemetry(), lastUpload: { bytes: frame.byteLength, ms: Math.max(1, (frame.byteLength * 8 * 1000) / profile.uplinkBps) } });
  });
}

// A cluster's run: how many devices joined again after losing their node, on request.
if (options.failover) setInterval(() => process.stdout.write(`rejoins ${rejoins}\n`), 1000).unref();
