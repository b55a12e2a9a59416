// Secure aggregation with distributed differential privacy in a real browser: a headless Chromium
// tab and two Node devices (the same runtime, Node's WebCrypto) take one round of SecAgg+ with
// discrete Gaussian noise added on each device (docs/SECURITY.md). The tab's key agreement, share
// sealing and masking run on Chromium's WebCrypto in its worker, so the round commits only if the
// browser's and Node's cryptography agree. Tiny model, two local steps, the WASM backend.
import { describe, expect, it } from 'vitest';
import { DeviceEvent } from '@fedbit/core';
import { simulatedDevice } from '@fedbit/client/node';
import type { DeviceProfile } from '@fedbit/client';
import type { RunningServer } from '@fedbit/server';
import { ADMIN_TOKEN, browserRoom, openPage, rounds, screenshot, startE2eServer, status, tabRounds, waitFor } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

describe.skipIf(skip)('secure aggregation in a real browser', () => {
  const room = browserRoom();

  it('a tab and two Node devices commit a securely aggregated round with distributed DP noise; no device sends a plain update', async () => {
    const server: RunningServer = (room.server = await startE2eServer({
      rounds: 1,
      devicesPerRound: 3,
      minDevices: 3,
      quorum: 2,
      dataset: { name: 'mnist', imageSize: 16, partition: 'iid', shards: 3 },
      policy: { kind: 'fixed', bits: 4 } as never,
      allowedBits: [4, 8],
      secureAggregation: {},
      privacy: { noiseMultiplier: 0.05, clipNorm: 1 },
      eval: { every: 0, final: false, samples: 16, steps: 4 },
    }));
    // What each connection sent, by event: the secure steps must replace the plain update.
    const sent = new Map<string, Map<string, number>>();
    server.io.on('connection', (socket) => {
      const events = new Map<string, number>();
      sent.set(socket.id, events);
      socket.use(([event], next) => {
        events.set(String(event), (events.get(String(event)) ?? 0) + 1);
        next();
      });
    });
    const before = Float32Array.from(server.coordinator.global);

    const tab = await room.tab(`${server.joinUrl}&backend=wasm`, 'secure-tab');
    const profile = (name: string): DeviceProfile => ({ name, deviceClass: 'laptop', battery: null, charging: null, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.1 });
    const nodes = ['node-a', 'node-b'].map((name) => simulatedDevice({ url: server.url, joinCode: server.joinCode, profile: profile(name), runtime: { reconnectDelayMs: 200 } }));
    try {
      await Promise.all(nodes.map((n) => n.start()));
      await waitFor('the secure round to commit', async () => ((await status(server)).round >= 1 ? true : undefined), 400_000, 1000);

      const [summary] = await rounds(server);
      expect(summary.accepted).toBe(3);
      expect(summary.epsilon).toBeGreaterThan(0);
      expect(server.coordinator.snapshot.secure).toMatchObject({ round: 1, outcome: 'committed', survivors: 3, dropped: 0 });
      // The tab lists round 1 as taken.
      const tabRound = await waitFor('the tab to list round 1', async () => (await tabRounds(tab)).find((r) => r.round === 1 && r.accepted === 'true'), 60_000);
      expect(tabRound.bits).toBe(4);

      // Three connections (the tab and the two Node devices) each took every step and none sent a plain update.
      const secure = [...sent.values()].filter((events) => events.has(DeviceEvent.secaggMasked));
      expect(secure).toHaveLength(3);
      for (const events of secure) {
        for (const step of [DeviceEvent.secaggAdvertise, DeviceEvent.secaggShare, DeviceEvent.secaggMasked, DeviceEvent.secaggReveal]) expect(events.get(step)).toBe(1);
        expect(events.has(DeviceEvent.update)).toBe(false);
      }
      // The unmasked sum is the clipped updates' mean plus the planned noise: its norm stays near the
      // clip norm (1) and the noise's (sigma 0.05 per value of the sum, about 4.6 over the mean of three).
      // Masks that did not cancel (browser and Node disagreeing on a key or a stream) leave values
      // spread over the whole modulus: with the tab's pairwise masks of the wrong sign the change had norm 24.6.
      const after = server.coordinator.global;
      expect(after.every(Number.isFinite)).toBe(true);
      const change = Math.sqrt(after.reduce((sum, v, i) => sum + (v - before[i]) ** 2, 0));
      expect(change).toBeGreaterThan(0);
      expect(change).toBeLessThan(10);

      // The dashboard says the round was securely aggregated and what privacy it spent.
      const dashboard = await openPage(await room.context({ viewport: { width: 1440, height: 1000 } }), `${server.url}/dashboard#token=${ADMIN_TOKEN}`, room.log, 'dashboard');
      const secureLine = dashboard.getByTestId('secure-aggregation');
      await secureLine.waitFor({ state: 'visible', timeout: 60_000 });
      await waitFor('the dashboard to show the committed secure round', async () => ((await secureLine.textContent())?.includes('3 of 3 in the sum') ? true : undefined), 30_000);
      expect(await dashboard.getByTestId('privacy').textContent()).toMatch(/ε = (\d+\.\d\d).*discrete Gaussian added on the devices/);
      await screenshot(dashboard, 'dashboard-secure.png');
    } finally {
      nodes.forEach((n) => n.stop());
      await Promise.all(nodes.map((n) => n.done()));
    }
  }, 500_000);
});
