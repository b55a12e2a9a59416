// Round modes side by side, at equal wall time, on the same fleet: synchronous rounds with a fixed
// number of local steps (sync-fixed), synchronous rounds with time-budgeted local work and FedNova
// (sync-budget), and buffered asynchronous aggregation (async, FedBuff). Two rooms:
//   `npm run simulate -- --preset classroom-stress [--minutes 3] [--json]`: 30 devices whose step
//     times spread over 10x, 20% joining late and 20% leaving in the middle of a task. It measures
//     what a room feels: minutes in which the model did not move, versions per minute, and how much
//     local work reached the model.
//   `npm run simulate -- --preset paper-modes [--minutes 4] [--json]`: the paper preset's 10
//     devices and recipe, step times spread over 10x, and the final FID-MNIST, energy and bytes.
// Real aggregator, real Socket.IO on loopback, real training (tfjs wasm).
import { rmSync } from 'node:fs';
import { destination, pino } from 'pino';
import { mulberry32, type RoundSummary } from '@fedbit/core';
import { generateProfiles, type DeviceRuntime } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { RunStore, resolveRunConfig, startServer, type RunConfigInput } from '@fedbit/server';
import { PRESETS, STUDY_CONFIG } from './presets';
import { formatBytes, table } from './report';

export const STRESS_MODES = ['sync-fixed', 'sync-budget', 'async'] as const;
export type StressMode = (typeof STRESS_MODES)[number];

/**
 * A classroom scaled down to this machine: a deadline the fast half of the room meets with 12 local
 * steps and the slow half does not (a step is about 0.1 s here times the device's slowdown of 1 to
 * 10), as 10 steps of 6-15 s against 120 s were for tabs on software WebGPU.
 */
const CLASSROOM: RunConfigInput = {
  rounds: 100_000,
  devicesPerRound: 10,
  quorum: 8,
  deadlineS: 6,
  localSteps: 12,
  batchSize: 8,
  dataset: { name: 'mnist', imageSize: 16, partition: 'iid' },
  model: { size: 'tiny', schedule: { kind: 'cosine', steps: 200 } },
  policy: { kind: 'on-demand' },
  eval: { every: 0, final: false },
};

/**
 * The studies' training (STUDY_CONFIG in ./presets), run for a fixed wall time instead of a
 * fixed number of rounds, with on-demand precision and a 60 s deadline (the preset's 600 s would
 * hide a dropped round for ten minutes), and no evaluation inside the run (the room measures once, at the end).
 */
const PAPER: RunConfigInput = {
  ...STUDY_CONFIG,
  rounds: 100_000,
  devicesPerRound: PRESETS.paper.devices,
  deadlineS: 60,
  policy: { kind: 'on-demand' },
  eval: { ...STUDY_CONFIG.eval, every: 0, final: false },
};

const MODES: Record<StressMode, RunConfigInput> = {
  'sync-fixed': { mode: 'sync', localWork: 'fixed', aggregation: { rule: 'fedavg' } },
  'sync-budget': { mode: 'sync', localWork: 'budget', aggregation: { rule: 'fednova' } },
  async: { mode: 'async', localWork: 'budget', aggregation: { rule: 'fednova' }, async: { buffer: 5, maxStaleness: 8, concurrency: 10 } },
};

export interface Room {
  name: 'classroom-stress' | 'paper-modes';
  devices: number;
  config: RunConfigInput;
  /** Share of devices joining late and leaving mid-task. */
  churn: number;
  /** Measure FID-MNIST of the final model. */
  quality: boolean;
}

export const ROOMS: Record<Room['name'], Room> = {
  'classroom-stress': { name: 'classroom-stress', devices: 30, config: CLASSROOM, churn: 0.2, quality: false },
  'paper-modes': { name: 'paper-modes', devices: 10, config: PAPER, churn: 0, quality: true },
};

export interface StressOptions {
  room: Room;
  minutes: number;
  seed: number;
  modes: readonly StressMode[];
  onProgress?: (line: string) => void;
}

export interface ModeResult {
  stalledMinutes: number;
  versionsPerMinute: number;
  updatesAccepted: number;
  updatesWasted: number;
  versions: number;
  tasksFinished: number;
  energyJ: number;
  uplinkBytes: number;
  downlinkBytes: number;
  /** paper-modes only: FID-MNIST and class entropy of the model at the end of the window. */
  fid: number | null;
  diversity: number | null;
  minutes: number;
  runDir: string;
}

interface FleetMember {
  index: number;
  /** Step time multiplier: the device sleeps (slowdown - 1) times each step's own duration. */
  slowdown: number;
  /** Seconds after the start at which it joins (0 for most). */
  joinAtS: number;
  /** Leaves abruptly (a closed tab) in the middle of this task number, or never. */
  leaveDuringTask: number | null;
}

/** The same fleet for every mode: slowdowns log-uniform over [1, 10], a share `churn` late and as many leaving mid-task. */
export function stressFleet(devices: number, seed: number, durationS: number, churn = 0.2): FleetMember[] {
  const r = mulberry32(seed * 7919 + 3);
  const order = Array.from({ length: devices }, (_, i) => i).sort(() => r() - 0.5);
  const late = new Set(order.slice(0, Math.round(devices * churn)));
  const leavers = new Set(order.slice(Math.round(devices * churn), Math.round(devices * 2 * churn)));
  return Array.from({ length: devices }, (_, index) => ({
    index,
    slowdown: Math.exp(r() * Math.log(10)),
    joinAtS: late.has(index) ? durationS * (0.1 + 0.4 * r()) : 0,
    leaveDuringTask: leavers.has(index) ? 1 + Math.floor(r() * 3) : null,
  }));
}

/** Whole minutes of [start, start + minutes) in which no model version was committed. */
export function stalledMinutes(commitTimesMs: number[], startMs: number, minutes: number): number {
  let stalled = 0;
  for (let m = 0; m < minutes; m++) {
    const lo = startMs + m * 60_000;
    if (!commitTimesMs.some((t) => t >= lo && t < lo + 60_000)) stalled++;
  }
  return stalled;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function runMode(mode: StressMode, options: StressOptions): Promise<ModeResult> {
  const durationMs = options.minutes * 60_000;
  const { room } = options;
  const base = room.config;
  const config = resolveRunConfig({ ...base, ...MODES[mode], seed: options.seed, dataset: { ...base.dataset, shards: room.devices } }, `${room.name} ${mode}`);
  const runDir = `results/${room.name}/runs/${mode}`;
  rmSync(runDir, { recursive: true, force: true }); // each run of the benchmark starts afresh
  const server = await startServer({
    port: 0,
    config: { ...config, runId: `${room.name}-${mode}` },
    runDir,
    webRoot: null,
    logger: pino({ level: 'error' }, destination(2)), // dropped rounds are the point here, not news
    rateLimit: { perSecond: 200, burst: 400, disconnectAfterStrikes: 10_000 },
  });
  const profiles = generateProfiles(room.devices, options.seed);
  const fleet = stressFleet(room.devices, options.seed, durationMs / 1000, room.churn);
  const runtimes: DeviceRuntime[] = [];
  let tasksFinished = 0;
  const startedAt = Date.now();

  const launch = async (member: FleetMember): Promise<void> => {
    if (member.joinAtS > 0) await sleep(member.joinAtS * 1000);
    if (Date.now() - startedAt >= durationMs) return;
    const profile = profiles[member.index];
    const runtime = simulatedDevice({ url: server.url, joinCode: server.joinCode, profile: { ...profile, slowdown: member.slowdown }, runtime: { telemetryIntervalMs: 5000 } });
    runtimes.push(runtime);
    let tasks = 0;
    let open = false;
    void (async () => {
      for await (const event of runtime.events) {
        if (event.type === 'task') {
          if (open) tasksFinished++; // superseded or cancelled: it ended without reaching the model
          open = true;
          tasks++;
        } else if (event.type === 'uploaded' && open) {
          open = false;
          tasksFinished++;
        } else if (event.type === 'step' && member.leaveDuringTask === tasks && event.step === 1) {
          open = false;
          tasksFinished++;
          runtime.stop(); // a closed tab: no leave message, the socket just drops
        }
      }
    })();
    await runtime.start();
  };

  await Promise.all(fleet.map((member) => launch(member)));
  const remaining = durationMs - (Date.now() - startedAt);
  if (remaining > 0) await sleep(remaining);
  for (const runtime of runtimes) runtime.stop();
  await Promise.all(runtimes.map((r) => r.done()));
  const quality = room.quality ? await server.host.evaluate(server.coordinator.global) : null;
  const totals = { ...server.coordinator.totals };
  await server.close();

  const summaries: RoundSummary[] = RunStore.open(server.runDir).store.readSummaries();
  const inWindow = summaries.filter((s) => Date.parse(s.startedAt) + s.wallS * 1000 < startedAt + durationMs);
  const commits = inWindow.map((s) => Date.parse(s.startedAt) + s.wallS * 1000);
  const updatesAccepted = inWindow.reduce((a, s) => a + s.accepted, 0);
  return {
    stalledMinutes: stalledMinutes(commits, startedAt, options.minutes),
    versionsPerMinute: inWindow.length / options.minutes,
    updatesAccepted,
    updatesWasted: Math.max(0, tasksFinished - updatesAccepted),
    versions: inWindow.length,
    tasksFinished,
    minutes: options.minutes,
    energyJ: totals.energyJ,
    uplinkBytes: totals.uplinkBytes,
    downlinkBytes: totals.downlinkBytes,
    fid: quality?.fidMnist ?? null,
    diversity: quality?.classEntropyBits ?? null,
    runDir: server.runDir,
  };
}

export async function runStress(options: StressOptions): Promise<Record<string, ModeResult>> {
  const results: Record<string, ModeResult> = {};
  for (const mode of options.modes) {
    options.onProgress?.(`${options.room.name}: ${mode}, ${options.room.devices} devices for ${options.minutes} min...`);
    results[mode] = await runMode(mode, options);
  }
  return results;
}

export function formatStress(results: Record<string, ModeResult>, quality: boolean): string {
  const rows = Object.entries(results).map(([mode, m]) => [
    mode,
    m.versions,
    m.versionsPerMinute.toFixed(2),
    `${m.stalledMinutes} of ${m.minutes}`,
    m.updatesAccepted,
    m.updatesWasted,
    m.energyJ.toFixed(3),
    formatBytes(m.uplinkBytes),
    ...(quality ? [m.fid?.toFixed(2) ?? 'n/a', m.diversity?.toFixed(3) ?? 'n/a'] : []),
  ]);
  const header = ['mode', 'versions', 'versions/min', 'stalled min', 'merged', 'wasted', 'energy J*', 'uplink', ...(quality ? ['FID-MNIST', 'class entropy'] : [])];
  return table(header, rows);
}
