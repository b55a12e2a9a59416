// Rounds over real Socket.IO on loopback: real aggregator, real device runtimes training the tiny
// DDPM on wasm, real encoded frames.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeUpdate, DeviceEvent, type RoundSummary, type UpdateMeta } from '@fedbit/core';
import type { DeviceProfile, DeviceRuntime } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import type { RunningServer } from '@fedbit/server';
import { RawDevice, globalWeights, maxRelativeError, startTestServer, waitFor } from './helpers';

const PROFILES: DeviceProfile[] = [
  { name: 'desktop-a', deviceClass: 'desktop', battery: null, charging: null, preference: 'best-quality', uplinkBps: 100e6, transmitPowerW: 0.1 },
  { name: 'phone-b', deviceClass: 'phone', battery: 0.3, charging: false, preference: 'save-battery', uplinkBps: 2e6, transmitPowerW: 0.2 },
  { name: 'laptop-c', deviceClass: 'laptop', battery: 0.8, charging: true, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.1 },
];

function device(server: RunningServer, profile: DeviceProfile): DeviceRuntime {
  return simulatedDevice({ url: server.url, joinCode: server.joinCode, profile, runtime: { reconnectDelayMs: 200 } });
}

/** Records every update frame the aggregator receives and every global model it sends. */
function tap(server: RunningServer) {
  const updates: Array<{ deviceId: string; meta: UpdateMeta; frame: Uint8Array }> = [];
  const models = new Map<number, Uint8Array>();
  server.io.on('connection', (socket) => {
    socket.use(([event, meta, frame], next) => {
      if (event === DeviceEvent.update && frame instanceof Uint8Array) {
        const dev = server.coordinator.devices.all().find((d) => d.socketId === socket.id);
        if (dev) updates.push({ deviceId: dev.id, meta: meta as UpdateMeta, frame: new Uint8Array(frame) });
      }
      next();
    });
  });
  const transport = server.coordinator.transport!;
  const send = transport.sendTask.bind(transport);
  transport.sendTask = (d, task) => {
    // The model the task names, as the aggregator serves it over HTTP.
    models.set(task.round, server.coordinator.models.get(task.model.version)!.frame);
    send(d, task);
  };
  return { updates, models };
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

describe('rounds on loopback', () => {
  it('three devices complete two rounds with different precisions, and the global model equals the reference aggregation', async () => {
    const server = await startTestServer({ rounds: 2, policy: { kind: 'on-demand' } as never });
    const { updates, models } = tap(server);
    const runtimes = PROFILES.map((p) => device(server, p));
    const heard: RoundSummary[] = [];
    void (async () => {
      for await (const e of runtimes[0].events) if (e.type === 'summary') heard.push(e.summary);
    })();
    cleanup.push(async () => {
      runtimes.forEach((r) => r.stop());
      await Promise.all(runtimes.map((r) => r.done()));
      await server.close();
    });
    await Promise.all(runtimes.map((r) => r.start()));
    await waitFor('two rounds', () => server.coordinator.completed >= 2 && heard.length >= 2);
    // A device hears the round's totals and only its own record; the whole summary is the aggregator's.
    const summaries = server.coordinator.summaries;
    const self = server.coordinator.devices.all().find((d) => d.name === PROFILES[0].name)!;
    for (const [i, own] of heard.entries()) {
      expect(own.devices.map((d) => d.deviceId)).toEqual([self.id]);
      expect(Object.keys(own.bits)).toEqual([self.id]);
      expect(own.energyJ).toBe(summaries[i].energyJ);
      expect(summaries[i].devices).toHaveLength(3);
    }

    // The precisions on the wire are the ones the policy assigned, and they differ between devices.
    const assigned = summaries.flatMap((s) => s.devices.filter((d) => d.status === 'accepted').map((d) => d.bits));
    expect(new Set(assigned).size).toBeGreaterThan(1);

    for (const round of [1, 2]) {
      const summary = summaries.find((s) => s.round === round)!;
      const accepted = summary.devices.filter((d) => d.status === 'accepted');
      expect(accepted.length).toBe(3);
      const before = decodeUpdate(models.get(round)!);
      const sum = new Float64Array(before.length);
      let total = 0;
      for (const record of accepted) {
        const frames = updates.filter((u) => u.deviceId === record.deviceId && u.meta.round === round);
        expect(frames).toHaveLength(1);
        const header = decodeUpdate(frames[0].frame);
        const weight = server.host.shardSizes[server.coordinator.devices.get(record.deviceId)!.shard];
        total += weight;
        for (let i = 0; i < sum.length; i++) sum[i] += weight * header[i];
        expect(frames[0].frame.byteLength).toBe(record.frameBytes);
      }
      const expected = new Float64Array(before.length);
      for (let i = 0; i < expected.length; i++) expected[i] = before[i] + sum[i] / total;
      const after = round === 2 ? await globalWeights(server) : decodeUpdate(models.get(round + 1)!);
      expect(maxRelativeError(after, expected)).toBeLessThan(1e-6);
    }

    // Energy and bytes are accounted per device and per round.
    const s1 = summaries[0];
    expect(s1.energyJ).toBeCloseTo(s1.computeJ + s1.transmitJ + s1.receiveJ!, 12);
    // Receiving the model is charged at the modelled per-bit cost, the same for every device of the round.
    const modelBytes = models.get(1)!.byteLength;
    for (const d of s1.devices) expect(d.receiveJ).toBeCloseTo(modelBytes * 8 * 5.197e-8, 12);
    // Samples come from the EMA of the committed models, not the latest model itself.
    expect(server.coordinator.samplingWeights).not.toEqual(server.coordinator.global);
    // ... and the published model is that EMA too.
    const published = new Float32Array(await (await fetch(`${server.url}/api/model/weights.bin`)).arrayBuffer());
    expect(published).toEqual(server.coordinator.samplingWeights);
    expect(s1.uplinkBytes).toBeLessThanOrEqual(s1.uplinkBytesFp32);
    expect(s1.devices.every((d) => d.uplinkBps > 0 && d.energyJ > 0)).toBe(true);
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { round: number; devices: Array<{ energyJ: number; backend: string }> };
    expect(status.round).toBe(2);
    expect(status.devices).toHaveLength(3);
    expect(status.devices.every((d) => d.backend === 'wasm' && d.energyJ > 0)).toBe(true);

    // Observability: Prometheus metrics, per-round CSV, the model in our own format (test/export.test.ts checks the standard ones), a PNG grid.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^fedbit_rounds_completed_total 2$/m);
    expect(metrics).toMatch(/fedbit_updates_accepted_total\{bits="\d+"\} \d+/);
    const csv = (await (await fetch(`${server.url}/api/rounds?format=csv`)).text()).trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[0].split(',')).toContain('energyJ');
    const modelJson = (await (await fetch(`${server.url}/api/model/fedbit-ddpm.json`)).json()) as { weightsManifest: Array<{ weights: Array<{ shape: number[] }> }> };
    const declared = modelJson.weightsManifest[0].weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(declared).toBe(server.host.paramCount);
    const png = new Uint8Array(await (await fetch(`${server.url}/api/samples`)).arrayBuffer());
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('a device that leaves mid-round does not stall the round, one that stays silent is cut at the deadline, and it can rejoin', async () => {
    const server = await startTestServer({ rounds: 3, quorum: 2, deadlineS: 8, policy: { kind: 'fixed', bits: 8 } as never });
    const runtimes = PROFILES.slice(0, 2).map((p) => device(server, p));
    const silent = new RawDevice(server.url, server.joinCode);
    cleanup.push(async () => {
      silent.close();
      runtimes.forEach((r) => r.stop());
      await Promise.all(runtimes.map((r) => r.done()));
      await server.close();
    });
    const welcome = await silent.join('silent');
    await Promise.all(runtimes.map((r) => r.start()));

    // Round 1: the silent device drops its connection as soon as it has its task.
    await silent.nextTask();
    silent.close();
    await waitFor('round 1', () => server.coordinator.completed >= 1);
    const r1 = server.coordinator.summaries[0];
    expect(r1.accepted).toBe(2);
    expect(r1.wallS).toBeLessThan(8);
    expect(r1.devices.find((d) => d.deviceId === welcome.deviceId)?.status).toBe('missed');

    // It rejoins as the same device, is selected again, and this time stays silent: the deadline closes the round.
    const back = new RawDevice(server.url, server.joinCode);
    cleanup.push(() => back.close());
    const again = await back.join('silent', { deviceId: welcome.deviceId, resumeToken: welcome.resumeToken });
    expect(again.deviceId).toBe(welcome.deviceId);
    const { task } = await back.nextTask(30_000);
    await waitFor('the round it was given', () => server.coordinator.completed >= task.round, 30_000);
    const cut = server.coordinator.summaries.find((s) => s.round === task.round)!;
    expect(cut.accepted).toBe(2);
    expect(cut.wallS).toBeGreaterThanOrEqual(7.5);
    expect(cut.devices.find((d) => d.deviceId === welcome.deviceId)?.status).toBe('missed');
  });
});

describe('selection', () => {
  it('a device on low battery and not charging is not chosen unless the run allows it', async () => {
    for (const allowLowBattery of [false, true]) {
      const server = await startTestServer({ rounds: 1, devicesPerRound: 2, minDevices: 2, quorum: 1, allowLowBattery, policy: { kind: 'fixed', bits: 8 } as never });
      const low = new RawDevice(server.url, server.joinCode);
      const fine = new RawDevice(server.url, server.joinCode);
      cleanup.push(async () => {
        low.close();
        fine.close();
        await server.close();
      });
      await low.join('low', { telemetry: { battery: 0.1, charging: false, preference: 'balanced', deviceClass: 'phone' } });
      await fine.join('fine');
      if (!allowLowBattery) {
        // Only one eligible device: minDevices 2 is not met, so no round opens; plug the phone in and it is.
        await new Promise((r) => setTimeout(r, 1500));
        expect(server.coordinator.currentRound).toBeNull();
        expect(low.tasks).toHaveLength(0);
        await low.send(DeviceEvent.telemetry, { battery: 0.1, charging: true, preference: 'balanced', deviceClass: 'phone' });
      }
      await low.nextTask(20_000);
      await fine.nextTask(20_000);
      expect(server.coordinator.currentRound?.selected).toBe(2);
    }
  });
});
