// The merge kernel on a real aggregator: by default the WebAssembly SIMD kernel merges, and a run
// merged by it ends with the same global model, bit for bit, as the same run merged by the
// JavaScript kernel (low-bit updates from real Socket.IO devices, summed in a fixed order).
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEvent, encodeUpdate } from '@fedbit/core';
import { RawDevice, globalWeights, startTestServer, waitFor } from './helpers';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const PROFILES = [
  { battery: 0.9, charging: true, preference: 'best-quality', deviceClass: 'desktop' },
  { battery: 0.3, charging: false, preference: 'save-battery', deviceClass: 'phone' },
  { battery: 0.6, charging: false, preference: 'balanced', deviceClass: 'laptop' },
  { battery: 0.5, charging: false, preference: 'save-battery', deviceClass: 'phone' },
] as const;

/** Two rounds with four hand-driven devices; returns the final global model, the kernel and the precisions used. */
async function run(mergeKernel: 'auto' | 'js') {
  const server = await startTestServer({ rounds: 2, devicesPerRound: 4, minDevices: 4, quorum: 4, reproducible: true, policy: { kind: 'on-demand' } as never }, { mergeKernel });
  const devices: RawDevice[] = [];
  cleanup.push(async () => {
    devices.forEach((d) => d.close());
    await server.close();
  });
  for (const [k, telemetry] of PROFILES.entries()) {
    const device = new RawDevice(server.url, server.joinCode);
    devices.push(device);
    await device.join(`d${k}`, { telemetry: { ...telemetry } });
  }
  const bits: number[] = [];
  for (const round of [1, 2]) {
    await Promise.all(
      devices.map(async (device, k) => {
        const { task } = await device.nextTask();
        bits.push(task.bits);
        const update = Float32Array.from({ length: server.host.paramCount }, (_, i) => Math.sin(i * 0.01 + k + round) * 1e-3);
        const reply = await device.send(DeviceEvent.update, { round, samples: 10 + k, steps: 1, trainMs: 5, loss: 0.5, updateNormSq: 1 }, encodeUpdate(update, { bits: task.bits, round, seed: 7 * k + round }));
        expect(reply).toEqual({ ok: true });
      }),
    );
    await waitFor(`round ${round}`, () => server.coordinator.completed >= round, 30_000);
  }
  return { weights: await globalWeights(server), kernel: server.mergeKernel, bits };
}

describe('the merge kernel on a real aggregator', () => {
  it('merges with WebAssembly SIMD by default, and to the same model bit for bit as the JavaScript kernel', async () => {
    const simd = await run('auto');
    const js = await run('js');
    expect(simd.kernel).toBe('wasm-simd');
    expect(js.kernel).toBe('js');
    expect(simd.bits).toEqual(js.bits);
    expect(simd.bits.some((b) => b <= 8)).toBe(true);
    expect(simd.weights).toEqual(js.weights);
  });
});
