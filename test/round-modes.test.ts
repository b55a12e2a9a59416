// The round engine's modes on a real aggregator over loopback Socket.IO: the live config prices the
// next round (and survives --resume), time-budgeted work gives a slow device fewer steps and merges
// with FedNova, and buffered async aggregation (FedBuff) never makes a device wait for another and
// refuses an update that is too stale.
import { afterEach, describe, expect, it } from 'vitest';
import { computeEnergyJ, decodeUpdate, DeviceEvent, encodeUpdate, type RoundSummary, type Task } from '@fedbit/core';
import type { DeviceProfile, DeviceRuntime } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { startServer, type RunningServer } from '@fedbit/server';
import { pino } from 'pino';
import { RawDevice, getJson, globalWeights, maxRelativeError, startTestServer, waitFor } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' };
const PROFILE: DeviceProfile = { name: 'laptop', deviceClass: 'laptop', battery: 0.9, charging: true, preference: 'balanced', uplinkBps: 50e6, transmitPowerW: 0.1 };

function device(server: RunningServer, name: string): DeviceRuntime {
  return simulatedDevice({ url: server.url, joinCode: server.joinCode, profile: { ...PROFILE, name }, runtime: { reconnectDelayMs: 200 } });
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

function running(server: RunningServer, runtimes: DeviceRuntime[], raw: RawDevice[] = []): void {
  cleanup.push(async () => {
    raw.forEach((r) => r.close());
    runtimes.forEach((r) => r.stop());
    await Promise.all(runtimes.map((r) => r.done()));
    await server.close();
  });
}

/** An update of the given size, encoded for this task at its precision. */
function updateFor(task: Task, length: number, scale: number): Uint8Array {
  const values = Float32Array.from({ length }, (_, i) => scale * Math.sin(i * 0.37 + scale));
  return encodeUpdate(values, { bits: task.bits, round: task.round, blockSize: task.blockSize, seed: 1 });
}

const meta = (task: Task, steps: number) => ({ round: task.round, samples: 100, steps, trainMs: 10 * steps, loss: 0.4, updateNormSq: 1 });

describe('round engine modes', () => {
  it('a localSteps patched mid-run is priced from the next round on, and a resumed run keeps the patch', async () => {
    const server = await startTestServer({ rounds: 3, devicesPerRound: 2, minDevices: 2, quorum: 2, localSteps: 2, policy: { kind: 'fixed', bits: 8 } as never });
    const runtimes = ['a', 'b'].map((n) => device(server, n));
    let restarted: RunningServer | null = null;
    cleanup.push(async () => {
      await restarted?.close();
    });
    running(server, runtimes);
    // Pause as round 1 commits, so the patch lands between rounds.
    server.coordinator.onCommitted((s) => s.round === 1 && server.coordinator.pause());
    await Promise.all(runtimes.map((r) => r.start()));
    await waitFor('round 1', () => server.coordinator.completed >= 1 && server.coordinator.phase === 'paused');
    const patched = await getJson(`${server.url}/api/config`, { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ localSteps: 4 }) });
    expect(patched.status).toBe(200);
    await getJson(`${server.url}/api/control`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ action: 'start' }) });
    await waitFor('round 2', () => server.coordinator.completed >= 2);

    const config = server.coordinator.config;
    const macsPerStep = server.host.macsPerStep(config.batchSize);
    const priced = (summary: RoundSummary, steps: number) =>
      summary.devices.map((d) => computeEnergyJ(macsPerStep * steps, d.trainBits, 'laptop', config.energy));
    const [r1, r2] = server.coordinator.summaries;
    expect(r1.devices.map((d) => d.computeJ)).toEqual(priced(r1, 2));
    expect(r2.devices.map((d) => d.computeJ)).toEqual(priced(r2, 4));
    expect(r2.computeJ).toBeCloseTo(2 * r1.computeJ, 12);

    // kill the server (its run directory stays) and resume: the patched value is the run's config.
    runtimes.forEach((r) => r.stop());
    await server.close();
    restarted = await startServer({ port: 0, resume: server.runDir, webRoot: null, logger: pino({ level: 'silent' }), joinCode: 'testcode' });
    expect(restarted.coordinator.config.localSteps).toBe(4);
    expect(restarted.coordinator.completed).toBeGreaterThanOrEqual(2);
  });

  it('time-budgeted work gives a slow device fewer steps, and the round merges them with FedNova', async () => {
    const server = await startTestServer({ rounds: 1, devicesPerRound: 2, minDevices: 2, quorum: 2, localSteps: 6, deadlineS: 60, localWork: 'budget', policy: { kind: 'fixed', bits: 32 } as never });
    const fast = new RawDevice(server.url, server.joinCode);
    const slow = new RawDevice(server.url, server.joinCode);
    running(server, [], [fast, slow]);
    expect(server.coordinator.config.aggregation.rule).toBe('fednova');
    const telemetry = (stepMs: number) => ({ battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop', stepMs });
    // The slow device joins first and reports its measured step time before the round opens.
    await slow.join('slow', { telemetry: { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' } });
    expect((await slow.send(DeviceEvent.telemetry, telemetry(15_000))).ok).toBe(true);
    await fast.join('fast');
    expect((await fast.send(DeviceEvent.telemetry, telemetry(5))).ok).toBe(true);
    const [{ task: fastTask, model }, { task: slowTask }] = [await fast.nextTask(), await slow.nextTask()];
    expect(fastTask.localSteps).toBe(6);
    expect(slowTask.localSteps).toBe(2); // 60 s * 0.6 / 15 s per step, the upload time aside
    expect(slowTask.timeBudgetMs).toBeGreaterThan(30_000);

    const n = server.host.paramCount;
    const fastFrame = updateFor(fastTask, n, 0.01);
    const slowFrame = updateFor(slowTask, n, 0.003);
    const over = await slow.send(DeviceEvent.update, meta(slowTask, 3), slowFrame);
    expect(over).toMatchObject({ ok: false, code: 'bad-value', field: 'steps' });
    expect((await fast.send(DeviceEvent.update, meta(fastTask, 6), fastFrame)).ok).toBe(true);
    expect((await slow.send(DeviceEvent.update, meta(slowTask, 2), slowFrame)).ok).toBe(true);
    await waitFor('the round', () => server.coordinator.completed >= 1);

    // FedNova: global += tau_eff * sum_k p_k u_k / tau_k, with p_k the shard weights.
    const weight = (raw: RawDevice) => server.host.shardSizes[raw.welcome!.shard.index];
    const [wf, ws] = [weight(fast), weight(slow)];
    const tauEff = (wf * 6 + ws * 2) / (wf + ws);
    const before = decodeUpdate(model);
    const [uf, us] = [decodeUpdate(fastFrame), decodeUpdate(slowFrame)];
    const expected = Float64Array.from(before, (b, i) => b + (tauEff * (wf * (uf[i] / 6) + ws * (us[i] / 2))) / (wf + ws));
    expect(maxRelativeError(await globalWeights(server), expected)).toBeLessThan(1e-6);
  });

  it('async: real devices train from the newest version without waiting, every buffer of K updates is a version', async () => {
    const server = await startTestServer({ mode: 'async', localWork: 'budget', rounds: 4, devicesPerRound: 3, minDevices: 1, async: { buffer: 2, maxStaleness: 8 } });
    const runtimes = ['a', 'b', 'c'].map((n) => device(server, n));
    running(server, runtimes);
    await Promise.all(runtimes.map((r) => r.start()));
    await waitFor('four versions', () => server.coordinator.completed >= 4, 180_000);
    const summaries = server.coordinator.summaries;
    expect(summaries.map((s) => s.round)).toEqual([1, 2, 3, 4]);
    for (const s of summaries) {
      expect(s.mode).toBe('async');
      expect(s.closedBy).toBe('buffer-full');
      expect(s.accepted).toBe(2);
      expect(s.staleness).toHaveLength(2);
    }
    const status = (await getJson(`${server.url}/api/status`)).body;
    expect(status.mode).toBe('async');
    expect(status.droppedRounds).toBe(0);
    expect(status.stalenessHistogram.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThanOrEqual(8);
  });

  it('async: an update trained too many versions ago is refused with its code and changes nothing', async () => {
    const server = await startTestServer({ mode: 'async', rounds: 5, devicesPerRound: 2, minDevices: 2, async: { buffer: 1, maxStaleness: 0 }, policy: { kind: 'fixed', bits: 32 } as never });
    const a = new RawDevice(server.url, server.joinCode);
    const b = new RawDevice(server.url, server.joinCode);
    running(server, [], [a, b]);
    await a.join('a');
    await b.join('b');
    const [ta, tb] = [(await a.nextTask()).task, (await b.nextTask()).task];
    expect(ta.mode).toBe('async');
    expect(ta.version).toBe(0);
    expect(tb.version).toBe(0);
    const n = server.host.paramCount;
    expect((await a.send(DeviceEvent.update, meta(ta, 1), updateFor(ta, n, 0.01))).ok).toBe(true);
    await waitFor('version 1', () => server.coordinator.completed >= 1);
    const before = await globalWeights(server);
    const stale = await b.send(DeviceEvent.update, meta(tb, 1), updateFor(tb, n, 0.02));
    expect(stale).toMatchObject({ ok: false, code: 'too-stale' });
    expect(stale.reason).toMatch(/version 0, 1 versions ago; at most 0/);
    expect(maxRelativeError(await globalWeights(server), before)).toBe(0);
    // The refused device is free again: its next task trains from the newest version.
    const next = await b.nextTask();
    expect(next.task.version).toBeGreaterThanOrEqual(1);
  });
});
