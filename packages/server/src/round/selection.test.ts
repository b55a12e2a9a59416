import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@fedbit/core';
import { DeviceRegistry } from '../devices/registry';
import { eligibleDevices, selectDevices } from './selection';

const registry = new DeviceRegistry();
for (let i = 0; i < 8; i++) {
  registry.upsert(`dev-${i}`, {
    protocol: PROTOCOL_VERSION,
    name: `d${i}`,
    platform: 'node',
    backend: 'wasm',
    telemetry: { battery: i === 0 ? 0.1 : 0.9, charging: false, preference: 'balanced', deviceClass: 'phone' },
  }, `s${i}`, i, i);
}
registry.disconnect('dev-7', true);

describe('selection', () => {
  it('leaves out devices away or on a low battery unless allowed', () => {
    const ids = eligibleDevices(registry, { allowLowBattery: false, lowBatteryThreshold: 0.2 }).map((d) => d.id);
    expect(ids).not.toContain('dev-0');
    expect(ids).not.toContain('dev-7');
    expect(ids).toHaveLength(6);
    expect(eligibleDevices(registry, { allowLowBattery: true, lowBatteryThreshold: 0.2 })).toHaveLength(7);
  });

  it('picks the same devices for a seed and round, others for another round', () => {
    const eligible = eligibleDevices(registry, { allowLowBattery: true, lowBatteryThreshold: 0.2 });
    const pick = (round: number) => selectDevices(eligible, 3, 42, round).map((d) => d.id);
    expect(pick(1)).toEqual(pick(1));
    expect(pick(1)).toHaveLength(3);
    expect(new Set([1, 2, 3, 4, 5].map((r) => pick(r).join())).size).toBeGreaterThan(1);
    expect(selectDevices(eligible, 3, 42, 1).map((d) => d.id)).toEqual(selectDevices([...eligible].reverse(), 3, 42, 1).map((d) => d.id));
  });

  it('orders by FNV-1a of "seed:round:seat": the seat (order of joining), not the random id, keys the choice', () => {
    // Expected lists computed outside this code base (FNV-1a 32-bit over the ASCII key, smallest first).
    const eligible = eligibleDevices(registry, { allowLowBattery: true, lowBatteryThreshold: 0.2 });
    const pick = (round: number) => selectDevices(eligible, 3, 42, round).map((d) => d.id);
    expect(pick(1)).toEqual(['dev-4', 'dev-5', 'dev-6']);
    expect(pick(2)).toEqual(['dev-3', 'dev-2', 'dev-1']);
    expect(pick(3)).toEqual(['dev-6', 'dev-4', 'dev-5']);
  });
});
