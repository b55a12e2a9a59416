// Client-level differential privacy end to end: two raw devices on a real server, DP-FedAvg with
// noise multiplier 1 and clip 1. The merged step is the mean of the clipped updates plus noise of
// sd sigma C / n; the accountant's epsilon grows round by round, is in each summary and in
// /api/status, and survives a restart from the checkpoint.
import { describe, expect, it } from 'vitest';
import { DeviceEvent, decodeUpdate, encodeUpdate, epsilonOf, roundRdp, composeRdp } from '@fedbit/core';
import { startServer } from '@fedbit/server';
import { pino } from 'pino';
import { RawDevice, getJson, globalWeights, startTestServer, waitFor } from './helpers';

const meta = (round: number) => ({ round, samples: 100, steps: 2, trainMs: 10, loss: 0.5, updateNormSq: 1 });

describe('differential privacy', () => {
  it('adds noise of sigma C / n, accounts epsilon per round, and keeps it across a restart', async () => {
    const privacy = { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 };
    const server = await startTestServer({ rounds: 3, devicesPerRound: 2, minDevices: 2, quorum: 2, deadlineS: 120, privacy, policy: { kind: 'fixed', bits: 32 } as never });
    const devices = [new RawDevice(server.url, server.joinCode), new RawDevice(server.url, server.joinCode)];
    try {
      await Promise.all(devices.map((d, i) => d.join(`dp-${i}`)));
      for (const round of [1, 2]) {
        const tasks = await Promise.all(devices.map((d) => d.nextTask()));
        const global0 = decodeUpdate(tasks[0].model);
        const zero = encodeUpdate(new Float32Array(global0.length), { bits: 32, round });
        for (const d of devices) expect(await d.send(DeviceEvent.update, meta(round), zero)).toMatchObject({ ok: true });
        await waitFor(`round ${round}`, () => server.coordinator.completed === round, 30_000);
        const global1 = await globalWeights(server);
        let sq = 0;
        for (let i = 0; i < global0.length; i++) sq += (global1[i] - global0[i]) ** 2;
        const sd = Math.sqrt(sq / global0.length);
        expect(sd).toBeGreaterThan(0.5 * 0.95); // sigma C / n = 1 * 1 / 2
        expect(sd).toBeLessThan(0.5 * 1.05);
      }
      const total: number[] = [];
      composeRdp(total, roundRdp(1, 1));
      const afterOne = epsilonOf(total, 1e-5).epsilon;
      composeRdp(total, roundRdp(1, 1));
      const afterTwo = epsilonOf(total, 1e-5).epsilon;
      expect(server.coordinator.summaries.map((s) => s.epsilon)).toEqual([afterOne, afterTwo]);
      const status = await getJson(`${server.url}/api/status`);
      expect(status.body.privacy).toMatchObject({ epsilon: afterTwo, delta: 1e-5, noiseMultiplier: 1, clipNorm: 1 });
    } finally {
      devices.forEach((d) => d.close());
      await server.close();
    }
    const resumed = await startServer({ port: 0, resume: server.runDir, webRoot: null, logger: pino({ level: 'silent' }) });
    try {
      expect((await getJson(`${resumed.url}/api/status`)).body.privacy.epsilon).toBe(server.coordinator.summaries.at(-1)!.epsilon);
    } finally {
      await resumed.close();
    }
  });

  it('refuses privacy with async rounds or another rule, naming the field', async () => {
    const { resolveRunConfig } = await import('@fedbit/server');
    expect(() => resolveRunConfig({ mode: 'async', privacy: { noiseMultiplier: 1, clipNorm: 1 } })).toThrow(/privacy needs "mode": "sync"/);
    expect(() => resolveRunConfig({ aggregation: { rule: 'median' }, privacy: { noiseMultiplier: 1, clipNorm: 1 } })).toThrow(/rule median/);
  });
});
