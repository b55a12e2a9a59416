// GET /api/status and the dashboard's live feed (RunStatus), and the brief every device hears
// (RunBrief): the run at a glance, every wait explained. No secrets in here.
import { DEVICE_STATES, STATUS_DEVICE_PAGE, epsilonOf, type DeviceCounts, type DeviceStatus, type RunBrief, type RunStatus } from '@fedbit/core';
import type { Device } from './devices/registry';
import { RATE_WINDOW_MS } from './constants';
import { DEFAULT_SURVIVAL, SECURE_NOTE } from './round/run-secure-round';
import type { Coordinator } from './round/coordinator';

export type { DeviceStatus, RunStatus } from '@fedbit/core';

/** Versions committed per minute over the last window (or since the first commit, if sooner). */
function versionsPerMinute(commitTimes: readonly number[], now = Date.now()): number | null {
  if (commitTimes.length === 0) return null;
  const recent = commitTimes.filter((t) => t > now - RATE_WINDOW_MS);
  const span = Math.min(RATE_WINDOW_MS, now - commitTimes[0]);
  return span > 0 ? recent.length / (span / 60_000) : null;
}

/** What a status shows of one device. */
export function deviceStatus(coordinator: Coordinator, d: Readonly<Device>): DeviceStatus {
  return {
    id: d.id,
    name: d.name,
    platform: d.platform,
    backend: d.backend,
    adapter: d.adapter ? [d.adapter.vendor, d.adapter.architecture].filter(Boolean).join(' ') : null,
    bits: coordinator.assignedBits(d.id) ?? d.lastBits,
    ...(d.lastMode ? { trainingMode: d.lastMode } : {}),
    battery: d.telemetry.battery,
    charging: d.telemetry.charging,
    preference: d.telemetry.preference,
    deviceClass: d.telemetry.deviceClass,
    uplinkBps: d.uplinkBps.value,
    downlinkBps: d.downlinkBps.value,
    energyJ: d.energyJ,
    state: d.state,
    progress: d.progress,
    lastLoss: d.lastLoss,
  };
}

/**
 * The devices a status lists (every one up to `page`; above it the devices at work, then the
 * latest to join, `page` in all, in the order they joined) and the counts of all of them.
 */
export function listedDevices(coordinator: Coordinator, page = STATUS_DEVICE_PAGE): { listed: Readonly<Device>[]; counts: DeviceCounts } {
  const all = coordinator.devices.all();
  const byState = Object.fromEntries(DEVICE_STATES.map((state) => [state, 0])) as DeviceCounts['byState'];
  for (const d of all) byState[d.state]++;
  const counts = { total: all.length, connected: coordinator.devices.connectedCount, listed: Math.min(all.length, page), byState };
  if (all.length <= page) return { listed: all, counts };
  const chosen = new Set<Readonly<Device>>();
  for (const d of all) if (chosen.size < page && (d.state === 'training' || d.state === 'uploaded')) chosen.add(d);
  for (let i = all.length - 1; i >= 0 && chosen.size < page; i--) chosen.add(all[i]);
  return { listed: all.filter((d) => chosen.has(d)), counts };
}

export function statusOf(coordinator: Coordinator): RunStatus {
  const { config, snapshot: run } = coordinator;
  const { listed, counts } = listedDevices(coordinator);
  return {
    run: coordinator.runId,
    round: run.completed,
    rounds: config.rounds,
    phase: run.phase,
    mode: config.mode,
    policy: config.policy,
    config: {
      devicesPerRound: config.devicesPerRound,
      localSteps: config.localSteps,
      quorum: config.quorum,
      deadlineS: config.deadlineS,
      dataset: config.dataset.name,
      modelSize: config.model.size,
      localWork: config.localWork,
      aggregation: config.aggregation.rule,
      asyncBuffer: config.async.buffer,
      maxStaleness: config.async.maxStaleness,
      emaDecay: config.emaDecay,
      ...(coordinator.classNames ? { classNames: coordinator.classNames } : {}),
    },
    currentRound: coordinator.currentRound,
    wait: coordinator.waiting,
    lastRound: run.lastRound,
    droppedRounds: run.droppedRounds,
    versionsPerMinute: versionsPerMinute(run.commitTimes),
    privacy: config.privacy && {
      ...config.privacy,
      epsilon: run.rdp.length ? epsilonOf(run.rdp, config.privacy.delta).epsilon : null,
      mechanism: config.secureAggregation ? ('distributed' as const) : ('central' as const),
      ...(config.secureAggregation ? { survival: config.privacy.survival ?? DEFAULT_SURVIVAL, rotation: config.privacy.rotation ?? true } : {}),
    },
    secureAggregation: config.secureAggregation && { note: SECURE_NOTE, lastRound: run.secure },
    maxUpdateNormRatio: config.maxUpdateNormRatio,
    stalenessHistogram: Array.from({ length: run.stalenessCounts.length }, (_, i) => run.stalenessCounts[i] ?? 0),
    devices: listed.map((d) => deviceStatus(coordinator, d)),
    deviceCounts: counts,
    lora: coordinator.loraStatus,
    totals: run.totals,
    energyUnit: 'modelled joules',
  };
}

export function briefOf(coordinator: Coordinator): RunBrief {
  const { mode, rounds, quorum } = coordinator.config;
  const { phase, completed, lastRound } = coordinator.snapshot;
  const open = coordinator.currentRound;
  const round = open && { ...open, quorum };
  const last = lastRound && { round: lastRound.round, outcome: lastRound.outcome, message: lastRound.message };
  return { phase, mode, version: completed, rounds, wait: coordinator.waiting, round, lastRound: last };
}
