// The join probe measures the link's rate, not its latency: a device on a simulated link of 8 Mbit/s
// with 40 ms added to every upload (a phone's round trip) must be measured near 8 Mbit/s. A lone
// 64 KiB probe would read about 5 Mbit/s there (65.5 ms on air + 40 ms), and on a fast link far
// less than its rate, which priced round 1 many times every later round.
import { afterEach, describe, expect, it } from 'vitest';
import { onAirMs } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { startTestServer, waitFor } from './helpers';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

describe('the join probe', () => {
  it('takes the slope of two sizes: the rate of the link without its latency', () => {
    // 4 KiB in 44 ms and 64 KiB in 104 ms: 60 ms for 60 KiB more, so 64 KiB take 64 ms on air.
    expect(onAirMs(4096, 44, 65536, 104)).toBeCloseTo(64, 9);
    // no latency at all: the slope alone would be more than the large upload's own time; capped there
    expect(onAirMs(4096, 0.5, 65536, 10)).toBe(10);
    // a slope of zero or less (a link faster than the timing can tell): floored, never negative
    expect(onAirMs(4096, 12, 65536, 11)).toBe(0.1);
    expect(() => onAirMs(65536, 1, 4096, 2)).toThrow(/smallBytes < largeBytes/);
  });

  it('measures a link of 8 Mbit/s with 40 ms of latency within 25% of 8 Mbit/s', async () => {
    const server = await startTestServer({ rounds: 1, minDevices: 2 });
    const uplinkBps = 8e6;
    const runtime = simulatedDevice({
      url: server.url,
      joinCode: server.joinCode,
      profile: { name: 'phone-latency', deviceClass: 'phone', battery: 0.9, charging: false, preference: 'balanced', uplinkBps, transmitPowerW: 0.2 },
      linkRates: 'measured',
      runtime: { shapeLatencyMs: 40 },
    });
    cleanup.push(async () => {
      runtime.stop();
      await runtime.done();
      await server.close();
    });
    await runtime.start();
    const measured = await waitFor('the probe timing', () => server.coordinator.devices.all()[0]?.uplinkBps.value ?? null, 60_000);
    console.log(`probe on 8 Mbit/s + 40 ms: measured ${(measured / 1e6).toFixed(2)} Mbit/s (a lone 64 KiB probe: about ${((65536 * 8) / (65.5 + 40) / 1e3).toFixed(2)})`);
    expect(measured).toBeGreaterThan(0.75 * uplinkBps);
    expect(measured).toBeLessThan(1.33 * uplinkBps);
  }, 120_000);
});
