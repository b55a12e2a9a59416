// Which devices a round may ask, and which it does: every connected device whose battery is not
// low (unless the run allows it), then a seeded choice that is stable for a run's seed and round.
import { batteryIsLow, hash32 } from '@fedbit/core';
import type { RunConfig } from '../config';
import type { Device, DeviceRegistry } from '../devices/registry';

export function eligibleDevices(registry: DeviceRegistry, config: Pick<RunConfig, 'allowLowBattery' | 'lowBatteryThreshold'>): Device[] {
  return registry.connected().filter((d) => config.allowLowBattery || !batteryIsLow(d.telemetry, config.lowBatteryThreshold));
}

/** Seeded choice of up to k devices: the k smallest hashes of "seed:round:id" (ties by id). */
export function selectDevices(eligible: Device[], k: number, seed: number, round: number): Device[] {
  const keyed = eligible.map((device) => ({ device, key: hash32(`${seed}:${round}:${device.id}`) }));
  keyed.sort((a, b) => a.key - b.key || a.device.id.localeCompare(b.device.id));
  return keyed.slice(0, k).map((e) => e.device);
}

/** The seed of one device's task: its batches and its quantization draws follow from it. */
export function taskSeed(seed: number, round: number, deviceId: string): number {
  return hash32(`${seed}:${round}:${deviceId}`);
}
