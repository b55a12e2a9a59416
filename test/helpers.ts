// Shared pieces of the integration tests: a small fast run config, a raw Socket.IO device that
// sends exactly what a test tells it to, and reference arithmetic.
import { io, type Socket } from 'socket.io-client';
import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DeviceEvent, PROTOCOL_VERSION, ServerEvent, modelPath, type Hello, type Task, type Welcome } from '@fedbit/core';
import { resolveRunConfig, startServer, type RunConfigInput, type RunningServer, type ServerOptions } from '@fedbit/server';

export function tmpRunDir(prefix = 'fedbit-test-'): string {
  return join(mkdtempSync(join(tmpdir(), prefix)), 'run');
}

/** A run small enough for tests: the tiny model on 16x16 MNIST, two local steps. */
export function fastConfig(overrides: RunConfigInput = {}): RunConfigInput {
  return {
    rounds: 2,
    devicesPerRound: 3,
    minDevices: 3,
    quorum: 1,
    deadlineS: 60,
    localSteps: 2,
    batchSize: 4,
    dataset: { name: 'mnist', imageSize: 16, partition: 'iid', shards: 3 },
    model: { size: 'tiny', schedule: { kind: 'cosine', steps: 100 } },
    eval: { every: 0, samples: 16, steps: 4 },
    ...overrides,
  };
}

export async function startTestServer(overrides: RunConfigInput = {}, extra: { runDir?: string; admission?: ServerOptions['admission']; mergeKernel?: ServerOptions['mergeKernel'] } = {}): Promise<RunningServer> {
  return startServer({
    port: 0,
    config: resolveRunConfig(fastConfig(overrides)),
    runDir: extra.runDir ?? tmpRunDir(),
    webRoot: null,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    adminToken: 'test-admin-token-0123456789',
    joinCode: 'testcode',
    admission: extra.admission,
    mergeKernel: extra.mergeKernel,
  });
}

export function hello(name: string, overrides: Partial<Hello> = {}): Hello {
  return {
    protocol: PROTOCOL_VERSION,
    name,
    platform: 'node',
    backend: 'wasm',
    telemetry: { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' },
    ...overrides,
  };
}

/** The model a task names, downloaded over HTTP from the aggregator and checked against its SHA-256. */
export async function fetchModel(url: string, task: Task): Promise<Uint8Array> {
  const response = await fetch(new URL(modelPath(task.model), url));
  if (response.status !== 200) throw new Error(`model ${task.model.version}: HTTP ${response.status} ${await response.text()}`);
  const model = new Uint8Array(await response.arrayBuffer());
  const digest = createHash('sha256').update(model).digest('hex');
  if (digest !== task.model.sha256) throw new Error(`model ${task.model.version}: SHA-256 ${digest}, the task named ${task.model.sha256}`);
  return model;
}

/** A device driven by hand: it joins, records its tasks (with the model each names, fetched), and sends whatever the test gives it. */
export class RawDevice {
  readonly socket: Socket;
  readonly tasks: Array<{ task: Task; model: Uint8Array }> = [];
  readonly refusals: unknown[] = [];
  welcome: Welcome | null = null;
  private waiters: Array<() => void> = [];

  constructor(url: string, joinCode: string | undefined) {
    this.socket = io(url, { auth: joinCode === undefined ? {} : { joinCode }, transports: ['websocket'], reconnection: false, forceNew: true });
    // Tasks are recorded in the order they arrive, each once its model is in hand.
    let fetched = Promise.resolve();
    this.socket.on(ServerEvent.task, (task: Task) => {
      const model = fetchModel(url, task);
      fetched = fetched
        .then(async () => {
          this.tasks.push({ task, model: await model });
          this.waiters.splice(0).forEach((w) => w());
        })
        .catch((error: Error) => {
          this.refusals.push({ fetchError: error.message });
        });
    });
    this.socket.on(ServerEvent.refused, (r: unknown) => this.refusals.push(r));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
  }

  async join(name: string, overrides: Partial<Hello> = {}): Promise<Welcome> {
    await this.connected();
    const reply = await this.socket.timeout(10_000).emitWithAck(DeviceEvent.hello, hello(name, overrides));
    if (!reply.ok) throw new Error(`join refused: ${reply.reason}`);
    this.welcome = reply as Welcome;
    return this.welcome;
  }

  private consumed = 0;

  /** The next task not yet returned by this method (tasks that arrived earlier count). */
  async nextTask(timeoutMs = 60_000): Promise<{ task: Task; model: Uint8Array }> {
    const deadline = Date.now() + timeoutMs;
    while (this.tasks.length <= this.consumed) {
      if (Date.now() > deadline) throw new Error('no task arrived');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.tasks[this.consumed++];
  }

  send(event: string, ...args: unknown[]): Promise<any> {
    return this.socket.timeout(10_000).emitWithAck(event, ...args);
  }

  close(): void {
    this.socket.disconnect();
  }
}

export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body };
}

/** A copy of the aggregator's global model, what devices train from (the published /api/model is the run's sampling weights, the EMA). */
export async function globalWeights(server: RunningServer): Promise<Float32Array> {
  return Float32Array.from(server.coordinator.global);
}

export function maxRelativeError(actual: Float32Array, expected: Float64Array | Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(scale, 1e-12));
  return worst;
}
