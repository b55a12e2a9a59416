// The classroom path in a real browser: the dashboard's QR code image is decoded (jsQR over its
// pixels, as a phone's camera would read it), and a phone-sized tab opens that URL and joins with
// one tap, the join code coming from the link. The dashboard also fits a phone's width.
import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '@fedbit/server';
import { ADMIN_TOKEN, PHONE, browserRoom, imageRendered, openPage, screenshot, startE2eServer, status, waitFor } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

describe.skipIf(skip)('the QR code in a real browser', () => {
  const room = browserRoom();

  it('decodes to the join URL, and a phone tab joins through it', async () => {
    const server: RunningServer = (room.server = await startE2eServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, autoStart: false }));
    const dashboard = await openPage(await room.context({ viewport: { width: 1280, height: 900 } }), `${server.url}/dashboard#token=${ADMIN_TOKEN}`, room.log, 'dashboard');
    await dashboard.getByTestId('qr').waitFor({ state: 'visible', timeout: 30_000 });
    await waitFor('the QR image to render', async () => (await imageRendered(dashboard, '[data-testid=qr]')) || undefined, 30_000, 200);

    // The image's pixels, as the page renders them (white margin around it, as on a screen).
    const image = await dashboard.$eval('[data-testid=qr]', (img) => {
      const el = img as HTMLImageElement;
      const size = 400;
      const canvas = document.createElement('canvas');
      canvas.width = size;
      canvas.height = size;
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, size, size);
      ctx.drawImage(el, 30, 30, 340, 340);
      return { width: size, height: size, data: Array.from(ctx.getImageData(0, 0, size, size).data) };
    });
    const code = jsQR(Uint8ClampedArray.from(image.data), image.width, image.height);
    expect(code, 'a QR code was found in the image').not.toBeNull();
    const url = code!.data;
    expect(url).toBe(await dashboard.getByTestId('join-url').textContent());
    expect(url).toBe(server.joinUrl);
    expect(new URL(url).searchParams.get('code')).toBe(server.joinCode);

    // A phone opens what it read: no code to type, one tap.
    const phone = await openPage(await room.context(PHONE), url, room.log, 'phone');
    expect(await phone.getByTestId('join-code').count()).toBe(0);
    await phone.getByTestId('join').click();
    await phone.getByTestId('device-id').waitFor({ state: 'attached', timeout: 180_000 });
    const deviceId = await phone.getByTestId('device-id').getAttribute('data-device-id');
    await waitFor('the aggregator to list the phone', async () => (await status(server)).devices.find((d) => d.id === deviceId), 30_000);
    await waitFor('the dashboard to list the phone', async () => ((await dashboard.getByTestId('device-row').count()) === 1 ? true : undefined), 30_000);
    expect(await dashboard.getByTestId('device-row').getAttribute('data-device-id')).toBe(deviceId);

    // The same dashboard on a phone (390 px wide) fits its width: nothing scrolls sideways.
    const small = await openPage(await room.context(PHONE), `${server.url}/dashboard#token=${ADMIN_TOKEN}`, room.log, 'dashboard-phone');
    await waitFor('the phone dashboard to list the phone', async () => ((await small.getByTestId('device-row').count()) === 1 ? true : undefined), 30_000);
    const widths = await small.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await screenshot(small, 'dashboard-390.png');
  });
});
