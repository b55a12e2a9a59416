import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, batteryIsLow, type Telemetry } from '@fedbit/core';
import { DeviceRegistry } from './registry';
import { eligibleDevices } from '../round/selection';

const telemetry = (battery: number, charging = false): Telemetry => ({ battery, charging, preference: 'balanced', deviceClass: 'phone' });
const hello = (i: number, t: Telemetry) => ({ protocol: PROTOCOL_VERSION, name: `d${i}`, platform: 'node' as const, backend: 'wasm' as const, telemetry: t });

/** A seeded stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('the registry\'s counts', () => {
  it('equal a recount of the devices after every join, report, leave, restore and clear, at any threshold', () => {
    const registry = new DeviceRegistry();
    const next = random(7);
    const recount = (threshold: number) => registry.all().filter((d) => d.socketId !== null && !batteryIsLow(d.telemetry, threshold)).length;
    for (let step = 0; step < 3000; step++) {
      const i = Math.floor(next() * 200);
      const id = `dev-${i}`;
      const r = next();
      if (r < 0.4) registry.upsert(id, hello(i, telemetry(next(), next() < 0.3)), `s${step}`, i, i);
      else if (r < 0.65) {
        const device = registry.get(id);
        if (device) registry.updateTelemetry(device, telemetry(next(), next() < 0.3));
      } else if (r < 0.85) registry.disconnect(id, next() < 0.5);
      else if (r < 0.95) registry.restore(id, { name: `d${i}`, shard: i, seat: i, tokenHash: null, uplinkBps: null, updateNormSq: null, energyJ: 0 } as never);
      else if (r < 0.951) registry.clear();
      const threshold = step % 500 < 250 ? 0.2 : 0.5;
      expect(registry.connectedCount).toBe(registry.connected().length);
      expect(registry.eligibleCount({ allowLowBattery: false, lowBatteryThreshold: threshold })).toBe(recount(threshold));
      expect(registry.eligibleCount({ allowLowBattery: false, lowBatteryThreshold: threshold })).toBe(eligibleDevices(registry, { allowLowBattery: false, lowBatteryThreshold: threshold }).length);
      expect(registry.eligibleCount({ allowLowBattery: true, lowBatteryThreshold: threshold })).toBe(registry.connected().length);
    }
  });

  it('pages through every device once, in the order they joined', () => {
    const registry = new DeviceRegistry();
    for (let i = 0; i < 25; i++) registry.upsert(`dev-${i}`, hello(i, telemetry(0.9)), `s${i}`, i, i);
    const seen = [0, 7, 14, 21].flatMap((offset) => registry.page(offset, 7).map((d) => d.id));
    expect(seen).toEqual(registry.all().map((d) => d.id));
    expect(registry.page(25, 7)).toEqual([]);
  });
});
