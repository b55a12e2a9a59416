// Bring your own photos, in a real browser: a phone-sized tab chooses three pictures through the
// file picker, keeps a 32x32 copy of each (IndexedDB), joins, and trains a round on them alone;
// nothing it sent carried them (both ends watched, as in draw-mode.test.ts).
import { describe, expect, it } from 'vitest';
import { PHOTO_SIZE, encodePng, photoDataset } from '@fedbit/datasets';
import type { RunningServer } from '@fedbit/server';
import { browserRoom, control, openPage, rounds, screenshot, startE2eServer, status, storedRecords, waitFor, watchTraffic } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

/** A width x height RGB picture: a diagonal colour gradient with a dark disc, different per seed. */
function picture(width: number, height: number, seed: number): Uint8Array {
  const px = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 4) ** 2;
      const i = (y * width + x) * 3;
      px[i] = disc ? 20 : (x * 255) / width;
      px[i + 1] = disc ? 20 : (y * 255) / height;
      px[i + 2] = (seed * 80) % 256;
    }
  return px;
}

describe.skipIf(skip)('photo mode in a real browser', () => {
  const room = browserRoom();

  it('a tab trains a round on three photos chosen in it, and no request or frame carries them', async () => {
    const server: RunningServer = (room.server = await startE2eServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, autoStart: false }));
    const context = await room.context();
    const traffic = watchTraffic(server, context);
    const page = await openPage(context, `${server.joinUrl}&backend=wasm`, room.log, 'photographer');
    traffic.page(page);

    await page.getByTestId('mode-photos').check();
    expect(await page.getByTestId('join').isDisabled()).toBe(true); // no photo yet
    const sizes: [number, number][] = [[160, 120], [90, 150], [64, 64]];
    const files = sizes.map(([w, h], i) => ({ name: `photo-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(encodePng({ width: w, height: h, channels: 3, pixels: picture(w, h, i) })) }));
    await page.getByTestId('photo-input').setInputFiles([...files, { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') }]);
    await waitFor('three kept photos', async () => ((await page.getByTestId('photo').count()) === 3 ? true : undefined), 20_000, 100);
    // The file that is not a picture is named and refused; the others are kept.
    expect(await page.getByRole('alert').first().textContent()).toMatch(/notes\.txt: this browser cannot read it as a picture/);
    const kept = (await storedRecords(page, 'photos')).map((p) => p.pixels);
    expect(kept).toHaveLength(3);
    for (const [i, p] of kept.entries()) {
      expect(p).toHaveLength(PHOTO_SIZE * PHOTO_SIZE * 3);
      // The middle of the picture is the dark disc; a corner of the centred square is not.
      const centre = ((PHOTO_SIZE / 2) * PHOTO_SIZE + PHOTO_SIZE / 2) * 3;
      expect(p[centre], `photo ${i} centre`).toBeLessThan(40);
      expect(p[1 * PHOTO_SIZE * 3 + PHOTO_SIZE * 3 - 3] + p[(PHOTO_SIZE - 2) * PHOTO_SIZE * 3 + 4], `photo ${i} corners`).toBeGreaterThan(100);
    }
    expect(await page.getByTestId('data-note').textContent()).toMatch(/your 3 photos .*They never leave it/);
    await screenshot(page, 'photo-mode.png');

    await page.reload();
    await waitFor('the photos after a reload', async () => ((await page.getByTestId('photo').count()) === 3 ? true : undefined), 10_000, 100);

    await page.getByTestId('join').click();
    await page.getByTestId('device-id').waitFor({ state: 'attached', timeout: 120_000 });
    const deviceId = await page.getByTestId('device-id').getAttribute('data-device-id');
    await control(server, 'start');
    await waitFor('round 1', async () => ((await status(server)).round >= 1 ? true : undefined), 300_000, 1000);
    const [summary] = await rounds(server);
    const record = summary.devices.find((d) => d.deviceId === deviceId);
    expect(record?.status).toBe('accepted');
    expect(record?.samples).toBe(3); // its three photos, not a shard of MNIST
    expect(await page.getByTestId('data-source').getAttribute('data-mode')).toBe('photos');

    // The photos as kept and as trained on at the run's size (grey 16x16 here), as bytes and floats, and the original files.
    const photos = kept.map((p) => ({ pixels: Uint8Array.from(p) }));
    const small = photoDataset(photos, 16, 1, 'mnist');
    const signatures: Buffer[] = [];
    photos.forEach((p, i) => {
      const s = small.pixels.subarray(i * 256, (i + 1) * 256);
      signatures.push(Buffer.from(p.pixels), Buffer.from(s), Buffer.from(Float32Array.from(s, (v) => v / 127.5 - 1).buffer));
      signatures.push(Buffer.from(Array.from(s).join(',')), Buffer.from(Buffer.from(p.pixels).toString('base64')), files[i].buffer.subarray(64, 128));
    });
    console.log(`photo mode: ${traffic.expectNoneCarries(signatures)}; none carried a photo`);
  });
});
