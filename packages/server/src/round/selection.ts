// Which devices a round may ask, and which it does: every connected device whose battery is not
// low (unless the run allows it), then a seeded choice that is stable for a run's seed and round.
import { batteryIsLow, hash32 } from '@fedbit/core';
import type { RunConfig } from '../config';
import type { Device, DeviceRegistry } from '../devices/registry';

export function eligibleDevices(registry: DeviceRegistry, config: Pick<RunConfig, 'allowLowBattery' | 'lowBatteryThreshold'>): Device[] {
  return registry.connected().filter((d) => config.allowLowBattery || !batteryIsLow(d.telemetry, config.lowBatteryThreshold));
}

/**
 * Seeded choice of up to k devices: the k smallest hashes of "seed:round:seat" (ties by seat). A
 * device's seat is its place in the order of joining, not its random id, so a simulation whose
 * devices join in a fixed order selects the same devices on every run.
 */
export function selectDevices(eligible: Device[], k: number, seed: number, round: number): Device[] {
  const keyed = eligible.map((device) => ({ device, key: hash32(`${seed}:${round}:${device.seat}`) }));
  keyed.sort((a, b) => a.key - b.key || a.device.seat - b.device.seat);
  return keyed.slice(0, k).map((e) => e.device);
}

/** The seed of one device's task: its batches and its quantization draws follow from it (and from its seat, not its random id). */
export function taskSeed(seed: number, round: number, seat: number): number {
  return hash32(`${seed}:${round}:${seat}`);
}
