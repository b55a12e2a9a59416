// Headless simulation: an aggregator (in-process, or one at --url) and N Node devices that join it
// over real Socket.IO on loopback, each with a seeded heterogeneous profile whose uplink rate its
// uploads are paced at. In-process and in synchronous mode a run is reproducible to the bit: the
// devices join one at a time in profile order (so seats and shards follow the profiles), the run
// starts once all of them have reported, rounds sum updates in seat order ("reproducible": true),
// and uploads report the profile's link rate rather than the measured time (`linkRates`).
// Asynchronous runs depend on timing by design.
import { SingleBar, Presets } from 'cli-progress';
import { pino } from 'pino';
import { RoundSummarySchema, describeZodError, type RoundSummary } from '@fedbit/core';
import { z } from 'zod';
import { generateProfiles, type DeviceProfile } from '@fedbit/client';
import { simulatedDevice, type DeviceRuntime } from '@fedbit/client/node';
import { resolveRunConfig, startServer, type RunConfigInput, type RunningServer } from '@fedbit/server';

export interface SimulationOptions {
  devices: number;
  rounds: number;
  seed: number;
  /** Run config fields (a config file's content) that the flags above do not set. */
  config?: RunConfigInput;
  profiles?: DeviceProfile[];
  /** Join this aggregator instead of starting one. */
  url?: string;
  joinCode?: string;
  runDir?: string;
  /** Pace uploads at each profile's uplink rate (default on). */
  shaping?: boolean;
  /** 'profile' (default): uploads report the profile's link rate exactly; 'measured': the time they took here (depends on the machine's load). */
  linkRates?: 'measured' | 'profile';
  /** The tfjs backend of every device (default wasm; webgpu needs navigator.gpu: see node-gpu.ts). */
  backend?: 'wasm' | 'webgpu' | 'cpu';
  progress?: boolean;
  logLevel?: string;
  onRound?: (summary: RoundSummary) => void;
}

export interface SimulationResult {
  runDir: string | null;
  summaries: RoundSummary[];
  profiles: DeviceProfile[];
  wallS: number;
  paramCount: number | null;
}

const JOIN_TIMEOUT_MS = 120_000;

/** Joins the devices one at a time, each once the previous one's hello, probe and telemetry are in, then starts the run. */
async function joinInOrder(server: RunningServer, runtimes: DeviceRuntime[]): Promise<void> {
  const reported = () => server.coordinator.devices.all().filter((d) => d.uplinkBps.value !== null).length;
  for (const [i, runtime] of runtimes.entries()) {
    await runtime.start();
    const deadline = Date.now() + JOIN_TIMEOUT_MS;
    while (reported() <= i) {
      if (Date.now() > deadline) throw new Error(`simulated device ${i + 1} of ${runtimes.length} did not join within ${JOIN_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  server.coordinator.start();
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const started = Date.now();
  const profiles = options.profiles ?? generateProfiles(options.devices, options.seed);
  if (profiles.length < options.devices) throw new Error(`--profiles has ${profiles.length} devices; --devices asks for ${options.devices}`);
  let server: RunningServer | null = null;
  let url = options.url;
  let joinCode = options.joinCode;
  if (!url) {
    const config = resolveRunConfig(
      {
        devicesPerRound: options.devices,
        minDevices: options.devices,
        quorum: Math.max(1, Math.ceil(options.devices / 2)),
        reproducible: options.config?.mode !== 'async',
        ...options.config,
        // The simulator starts the run itself once every device has joined and reported.
        autoStart: false,
        rounds: options.rounds,
        seed: options.seed,
        dataset: { shards: options.devices, ...options.config?.dataset },
      },
      'simulation config',
    );
    server = await startServer({
      port: 0,
      config,
      runDir: options.runDir,
      webRoot: null,
      logger: pino({ level: options.logLevel ?? 'warn' }),
      rateLimit: { perSecond: 200, burst: 400, disconnectAfterStrikes: 10_000 },
    });
    url = server.url;
    joinCode = server.joinCode;
  }
  if (!joinCode) throw new Error('--join-code is required with --url');

  // The whole round summaries: devices hear only their own record (deviceSummary), so they come
  // from the aggregator itself when it runs here, or from a remote one's GET /api/rounds at the end.
  const summaries: RoundSummary[] = [];
  server?.coordinator.onCommitted((summary) => {
    summaries.push(summary);
    options.onRound?.(summary);
  });
  const bar = options.progress
    ? new SingleBar({ format: 'round {round}/{rounds} |{bar}| {value}/{total} updates | loss {loss} | {status}', hideCursor: true }, Presets.shades_classic)
    : null;
  let barRound = 0;
  let uploads = 0;

  const runtimes = profiles
    .slice(0, options.devices)
    .map((profile) => simulatedDevice({ url: url!, joinCode: joinCode!, profile, shaping: options.shaping, linkRates: options.linkRates ?? 'profile', runtime: { telemetryIntervalMs: 5000, ...(options.backend ? { backend: options.backend } : {}) } }));

  const finished = new Promise<void>((resolve, reject) => {
    // The run ends when the aggregator commits its last round. With the aggregator here, that is its
    // own word: a device that was reconnecting (a blocked event loop on a loaded machine misses a
    // heartbeat) can miss the last summary, and waiting for its copy hung finished runs.
    server?.coordinator.onCommitted((summary) => {
      if (summary.round >= options.rounds) resolve();
    });
    runtimes.forEach((runtime, index) => {
      void (async () => {
        for await (const event of runtime.events) {
          if (event.type === 'error' && event.code === 'bad-join-code') reject(new Error(event.message));
          if (event.type === 'task' && bar) {
            if (event.round !== barRound) {
              barRound = event.round;
              uploads = 0;
              bar.start(options.devices, 0, { round: event.round, rounds: options.rounds, loss: '-', status: 'training' });
            }
          }
          if (event.type === 'uploaded' && event.accepted && bar) bar.update(++uploads, { loss: 'training' });
          // Every device hears each summary (its own part); the first device's paces the progress bar.
          if (event.type === 'summary' && index === 0) {
            bar?.update(event.summary.accepted, { loss: event.summary.loss?.toFixed(4) ?? '-', status: `committed in ${event.summary.wallS.toFixed(1)} s` });
            bar?.stop();
            if (!server) options.onRound?.(event.summary);
            if (!server && event.summary.round >= options.rounds) resolve();
          }
        }
      })();
    });
  });

  try {
    if (server) await joinInOrder(server, runtimes);
    else await Promise.all(runtimes.map((r) => r.start()));
    await finished;
    if (!server) summaries.push(...(await remoteRounds(url)));
  } finally {
    bar?.stop();
    for (const runtime of runtimes) runtime.stop();
    await Promise.all(runtimes.map((r) => r.done()));
    await server?.close();
  }
  return {
    runDir: server?.runDir ?? null,
    summaries,
    profiles: profiles.slice(0, options.devices),
    wallS: (Date.now() - started) / 1000,
    paramCount: server?.host.paramCount ?? null,
  };
}

/** A remote aggregator's round summaries (GET /api/rounds, public), checked against the protocol's schema. */
async function remoteRounds(url: string): Promise<RoundSummary[]> {
  const where = new URL('/api/rounds', url).href;
  const res = await fetch(where);
  if (!res.ok) throw new Error(`${where} answered ${res.status}; expected the run's round summaries`);
  const body = z.object({ rounds: z.array(RoundSummarySchema) }).safeParse(await res.json());
  if (!body.success) throw new Error(`${where} did not answer {rounds: RoundSummary[]}: ${describeZodError(body.error)}`);
  return body.data.rounds;
}
