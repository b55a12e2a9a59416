// A LoRA fine-tuning run in a real browser: a headless Chromium tab joins on WebGPU (SwiftShader,
// as the other browser tests), fetches the frozen base once, trains only the adapters in its web
// worker and uploads the adapter update; the round commits and the dashboard shows what is
// fine-tuned. Tiny model, two local steps, batch 4, one round.
import { describe, expect, it } from 'vitest';
import { DeviceEvent, readFrameHeader } from '@fedbit/core';
import type { RunningServer } from '@fedbit/server';
import { ADMIN_TOKEN, browserRoom, openPage, rounds, screenshot, startE2eServer, status, waitFor } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

describe.skipIf(skip)('LoRA fine-tuning in a real browser', () => {
  const room = browserRoom();

  it('a tab fine-tunes FFA-LoRA adapters on WebGPU and a round completes', async () => {
    const server: RunningServer = (room.server = await startE2eServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, lora: { base: 'random', rank: 4 }, policy: { kind: 'fixed', bits: 8 } as never }));
    const frames: Uint8Array[] = [];
    server.io.on('connection', (socket) => {
      socket.use(([event, , frame], next) => {
        if (event === DeviceEvent.update && frame instanceof Uint8Array) frames.push(new Uint8Array(frame));
        next();
      });
    });
    const tab = await room.tab(`${server.joinUrl}&backend=webgpu`, 'lora-tab');
    const card = tab.getByTestId('lora');
    await card.waitFor({ state: 'visible', timeout: 180_000 });
    expect(await card.textContent()).toMatch(/Fine-tuning adapters of random/);
    expect(await tab.getByTestId('backend').getAttribute('data-backend')).toBe('webgpu');

    await waitFor('the committed round', async () => ((await status(server)).round >= 1 ? true : undefined), 400_000, 1000);
    const [summary] = await rounds(server);
    expect(summary.accepted).toBe(1);
    // What went up is an adapter update frame: the adapter vector's length, a small fraction of the model.
    const lora = server.host.lora!;
    expect(frames).toHaveLength(1);
    expect(readFrameHeader(frames[0]).length).toBe(lora.trainableLength);
    expect(summary.uplinkBytes).toBe(frames[0].byteLength);
    expect(server.coordinator.global.some((v) => v !== 0)).toBe(true);

    const dashboard = await openPage(await room.context({ viewport: { width: 1440, height: 1000 } }), `${server.url}/dashboard#token=${ADMIN_TOKEN}`, room.log, 'dashboard');
    const title = dashboard.getByTestId('lora-title');
    await title.waitFor({ state: 'visible', timeout: 60_000 });
    expect(await title.textContent()).toMatch(/Fine-tuning adapters of random/);
    expect(await dashboard.getByTestId('lora-size').textContent()).toMatch(new RegExp(`${lora.trainableLength.toLocaleString('en')}\\s*parameters`));
    expect(await dashboard.getByTestId('lora-uplink').textContent()).toMatch(/full fine-tuning would have sent/);
    await screenshot(dashboard, 'dashboard-lora.png');
  });
});
