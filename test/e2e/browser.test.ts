// Real-browser end to end: headless Chromium tabs join an in-process aggregator through the built
// web app, time a training step on each backend they have (WebGPU on SwiftShader, WebGL, WASM),
// keep the fastest, train the tiny model, and the dashboard shows what happened. Tiny model, two
// local steps, batch 4.
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '@fedbit/server';
import { bundleSizes } from './bundle-size';
import { ADMIN_TOKEN, WEB_ROOT, browserRoom, control, imageRendered, openPage, rounds, screenshot, startE2eServer, status, tabRounds, waitFor } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

describe.skipIf(skip)('the web app in a real browser', () => {
  const room = browserRoom();
  const deviceTab = room.tab;

  it('keeps the device page small: tfjs stays in the worker and the dashboard loads lazily', () => {
    const sizes = bundleSizes(WEB_ROOT);
    console.log(`device page initial JS: ${(sizes.initialGzipBytes / 1024).toFixed(1)} KiB gzip (${sizes.initial.map((c) => c.file).join(', ')})`);
    expect(sizes.initial.length).toBeGreaterThan(0);
    expect(sizes.worker.length).toBeGreaterThan(0);
    expect(sizes.initialGzipBytes).toBeLessThan(120 * 1024);
  });

  it('two tabs train two rounds on the backend they measured fastest, at the precisions the policy assigned, and the dashboard shows it', async () => {
    // The operator starts the run from the dashboard once both tabs have joined (autoStart off).
    const server: RunningServer = (room.server = await startE2eServer({ autoStart: false }));
    const started = Date.now();
    const tabs = [await deviceTab(server.joinUrl, 'tab1'), await deviceTab(server.joinUrl, 'tab2')];

    const dashContext = await room.context({ viewport: { width: 1440, height: 1000 } });
    const dashboard = await openPage(dashContext, `${server.url}/dashboard#token=${ADMIN_TOKEN}`, room.log, 'dashboard');

    // Each tab timed a training step on every backend it has (WebGPU on SwiftShader here, WebGL,
    // WASM), kept the fastest and says which and why.
    const chosen: string[] = [];
    for (const tab of tabs) {
      const reason = await waitFor('a tab to choose its backend by measurement', async () => (await tab.getByTestId('backend-reason').textContent().catch(() => null)) || undefined, 180_000);
      const backend = (await tab.getByTestId('backend').getAttribute('data-backend'))!;
      const timed = [...reason.matchAll(/(webgpu|webgl|wasm) (\d+) ms/g)].map((m) => ({ backend: m[1], ms: Number(m[2]) }));
      console.log(`${backend}: ${reason}`);
      expect(timed.map((t) => t.backend)).toContain('webgpu');
      expect(timed.length).toBeGreaterThanOrEqual(2);
      expect(timed.find((t) => t.backend === backend)!.ms).toBe(Math.min(...timed.map((t) => t.ms)));
      chosen.push(backend);
    }

    // The dashboard lists both devices and shows the QR code.
    await dashboard.getByTestId('qr').waitFor({ state: 'visible' });
    expect(await imageRendered(dashboard, '[data-testid=qr]')).toBe(true);
    // The test server listens on loopback: the dashboard says phones cannot use this join URL.
    expect(await dashboard.getByTestId('join-local-only').textContent()).toMatch(/this computer only/);
    await waitFor('two rows in the device table', async () => ((await dashboard.getByTestId('device-row').count()) === 2 ? true : undefined), 60_000);
    for (const tab of tabs) await tab.getByTestId('device-id').waitFor({ state: 'attached', timeout: 60_000 });
    await dashboard.getByTestId('control-start').click();

    // After the first round: pictures of both pages mid-run (kept even if a later round fails).
    await waitFor('the first committed round', async () => ((await status(server)).round >= 1 ? true : undefined), 300_000, 1000);
    await waitFor('the dashboard charts to show round 1', async () => ((await dashboard.getByTestId('chart-loss').locator('canvas').count()) > 0 ? true : undefined), 30_000);
    await screenshot(tabs[0], 'device-page-round1.png');
    await screenshot(dashboard, 'dashboard-round1.png');

    const done = await waitFor('two committed rounds', async () => ((await status(server)).round >= 2 ? true : undefined), 300_000, 1000);
    expect(done).toBe(true);
    console.log(`two rounds with two ${chosen.join('/')} tabs took ${((Date.now() - started) / 1000).toFixed(0)} s`);

    // Each tab showed the precision the policy gave it, round by round.
    const summaries = await rounds(server);
    expect(summaries.length).toBeGreaterThanOrEqual(2);
    for (const tab of tabs) {
      const deviceId = await tab.getByTestId('device-id').getAttribute('data-device-id');
      expect(deviceId).toBeTruthy();
      const shown = await waitFor(
        'the tab to list both rounds',
        async () => {
          const listed = await tabRounds(tab);
          return listed.filter((r) => r.accepted === 'true').length >= 2 ? listed : undefined;
        },
        30_000,
      );
      for (const summary of summaries.slice(0, 2)) {
        const record = summary.devices.find((d) => d.deviceId === deviceId);
        expect(record, `device ${deviceId} in round ${summary.round}`).toBeDefined();
        expect(record!.status).toBe('accepted');
        expect(shown.find((r) => r.round === summary.round)?.bits).toBe(record!.bits);
      }
      const last = shown[shown.length - 1];
      expect(await tab.getByTestId('bits').textContent()).toBe(`${last.bits}-bit`);
      expect(await tab.getByTestId('bandwidth').textContent()).toMatch(/bit\/s/);
      expect(await tab.getByTestId('energy').textContent()).toMatch(/J$/);
    }

    // The dashboard's table agrees: the bits in each row are ones the policy gave that device.
    const rows = await dashboard.getByTestId('device-row').evaluateAll((els) => els.map((el) => ({ id: el.getAttribute('data-device-id'), bits: Number(el.getAttribute('data-bits')), backend: el.getAttribute('data-backend') })));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(chosen).toContain(row.backend);
      const given = summaries.flatMap((s) => s.devices.filter((d) => d.deviceId === row.id).map((d) => d.bits));
      expect(given).toContain(row.bits);
    }

    // Samples of the global model render in the dashboard and in a tab.
    await waitFor('the dashboard sample grid to reach round 2', async () => Number(await dashboard.getByTestId('sample-grid').getAttribute('data-round')) >= 2 || undefined, 30_000);
    await waitFor('the sample grid to render', async () => (await imageRendered(dashboard, '[data-testid=sample-grid]')) || undefined, 60_000);
    await waitFor('the tab samples to render', async () => (await imageRendered(tabs[0], '[data-testid=samples]')) || undefined, 60_000);

    await screenshot(tabs[0], 'device-page.png');
    await screenshot(dashboard, 'dashboard.png');
  });

  it('a tab closed mid-round does not stall the run', async () => {
    const server: RunningServer = (room.server = await startE2eServer({ rounds: 1, quorum: 1, deadlineS: 30, autoStart: false }));
    // The closing tab trains on WebGPU (SwiftShader: seconds per step), so it is surely mid-round when closed.
    const tabs = [await deviceTab(server.joinUrl, 'stay'), await deviceTab(`${server.joinUrl}&backend=webgpu`, 'close')];
    await tabs[0].getByTestId('device-id').waitFor({ state: 'attached', timeout: 120_000 });
    await tabs[1].getByTestId('device-id').waitFor({ state: 'attached', timeout: 120_000 });
    const closingId = await tabs[1].getByTestId('device-id').getAttribute('data-device-id');
    await control(server, 'start');

    await waitFor('the second tab to be training', async () => ((await tabs[1].getByTestId('phase').getAttribute('data-phase')) === 'training' ? true : undefined), 180_000, 250);
    await tabs[1].close({ runBeforeUnload: true });
    const closedAt = Date.now();

    const final = await waitFor('round 1 to complete without the closed tab', async () => {
      const s = await status(server);
      return s.round >= 1 ? s : undefined;
    }, 120_000, 1000);
    console.log(`round committed ${((Date.now() - closedAt) / 1000).toFixed(0)} s after the tab closed`);
    const closed = final.devices.find((d) => d.id === closingId);
    expect(closed, 'the closed device is still listed').toBeDefined();
    expect(['left', 'offline']).toContain(closed!.state);
    const [summary] = await rounds(server);
    expect(summary.accepted).toBeGreaterThanOrEqual(1);
    expect(summary.devices.find((d) => d.deviceId === closingId)?.status).not.toBe('accepted');
  });
});
