// GET /api/status and the dashboard's live feed: the run at a glance. No secrets in here.
import type { RunStatus } from '@fedbit/core';
import type { Coordinator } from './round';

export type { DeviceStatus, RunStatus } from '@fedbit/core';

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
