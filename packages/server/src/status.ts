// GET /api/status and the dashboard's live feed: the run at a glance. No secrets in here.
import type { RunPhase } from '@fedbit/core';
import type { Coordinator } from './round';

export interface DeviceStatus {
  id: string;
  name: string;
  platform: string;
  backend: string;
  adapter: string | null;
  bits: number | null;
  battery: number | null;
  charging: boolean | null;
  preference: string;
  deviceClass: string;
  uplinkBps: number | null;
  downlinkBps: number | null;
  energyJ: number;
  state: string;
  progress: { round: number; step: number; steps: number; loss: number } | null;
  lastLoss: number | null;
}

export interface RunStatus {
  run: string;
  round: number;
  rounds: number;
  phase: RunPhase;
  policy: unknown;
  config: { devicesPerRound: number; localSteps: number; quorum: number; deadlineS: number; dataset: string; modelSize: string };
  currentRound: { round: number; deadlineAt: number; selected: number; received: number } | null;
  devices: DeviceStatus[];
  totals: { energyJ: number; computeJ: number; transmitJ: number; uplinkBytes: number; downlinkBytes: number };
  energyUnit: 'modelled joules';
}

export function statusOf(coordinator: Coordinator): RunStatus {
  const config = coordinator.config;
  return {
    run: coordinator.runId,
    round: coordinator.completed,
    rounds: config.rounds,
    phase: coordinator.phase,
    policy: config.policy,
    config: {
      devicesPerRound: config.devicesPerRound,
      localSteps: config.localSteps,
      quorum: config.quorum,
      deadlineS: config.deadlineS,
      dataset: config.dataset.name,
      modelSize: config.model.size,
    },
    currentRound: coordinator.currentRound,
    devices: coordinator.devices.all().map((d) => ({
      id: d.id,
      name: d.name,
      platform: d.platform,
      backend: d.backend,
      adapter: d.adapter ? [d.adapter.vendor, d.adapter.architecture].filter(Boolean).join(' ') : null,
      bits: coordinator.assignedBits(d.id) ?? d.lastBits,
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
    })),
    totals: coordinator.totals,
    energyUnit: 'modelled joules',
  };
}
