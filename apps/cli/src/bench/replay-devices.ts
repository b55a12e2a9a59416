// Lightweight devices for the server benchmark: they join over Socket.IO and answer every task at
// once with a prepared encoded update (no training), so the aggregator's own cost is what is measured.
// Each fetches the model its task names over HTTP and checks its SHA-256, as a real device does:
// straight from the aggregator (MODEL_CACHE 'none'), or through one cache shared by all of them
// ('shared': one request to the aggregator per model version, the others wait for it and reuse
// it, as behind a CDN edge or a caching reverse proxy with request coalescing).
// Usage: tsx replay-devices.ts URL JOIN_CODE DEVICES ROUNDS BITS PARAMS [MODEL_CACHE]
import { createHash } from 'node:crypto';
import { io } from 'socket.io-client';
import { DeviceEvent, PROTOCOL_VERSION, ServerEvent, encodeUpdate, modelPath, type Bits, type Task } from '@fedbit/core';

const [url, joinCode, devicesText, roundsText, bitsText, paramsText, modelCache = 'none'] = process.argv.slice(2);
const devices = Number(devicesText);
const rounds = Number(roundsText);
const bits = Number(bitsText) as Bits;
const params = Number(paramsText);
const VARIANTS = 4;

// Prepared before any device connects: VARIANTS distinct updates for every round.
const frames = new Map<string, Uint8Array>();
for (let round = 1; round <= rounds; round++) {
  for (let v = 0; v < VARIANTS; v++) {
    const update = new Float32Array(params);
    for (let i = 0; i < params; i++) update[i] = Math.sin(i * 0.001 + v + round) * 1e-3;
    frames.set(`${round}:${v}`, encodeUpdate(update, { bits, round, seed: round * 31 + v }));
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

function fetchModel(task: Task): Promise<Uint8Array> {
  const href = new URL(modelPath(task.model), url).href;
  if (modelCache !== 'shared') return download(href, task.model.sha256);
  let copy = shared.get(href);
  if (!copy) {
    copy = download(href, task.model.sha256);
    shared.set(href, copy);
  }
  return copy;
}

let joined = 0;
for (let d = 0; d < devices; d++) {
  const socket = io(url, { auth: { joinCode }, transports: ['websocket'], reconnection: false, forceNew: true });
  socket.on('connect', async () => {
    await socket.emitWithAck(DeviceEvent.hello, {
      protocol: PROTOCOL_VERSION,
      name: `replay-${d}`,
      platform: 'node',
      backend: 'cpu',
      telemetry: { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' },
    });
    if (++joined === devices) process.stdout.write('joined\n');
  });
  socket.on(ServerEvent.task, async (task: Task) => {
    try {
      await fetchModel(task);
    } catch (error) {
      process.stderr.write(`replay-${d}: ${(error as Error).message}; task ${task.round} skipped\n`);
      return;
    }
    const frame = frames.get(`${task.round}:${d % VARIANTS}`)!;
    socket.emit(DeviceEvent.update, { round: task.round, samples: 100, steps: 1, trainMs: 0, loss: 0.1, updateNormSq: 1 }, frame);
  });
}
