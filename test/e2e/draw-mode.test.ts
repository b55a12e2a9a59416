// Bring your own data, in a real browser: a phone-sized tab draws three digits with the mouse,
// labels and keeps them (IndexedDB), joins, and trains a round on them alone; nothing it sent
// carried them. Both ends are watched: every request and WebSocket frame the page and its worker
// sent (Playwright), and every HTTP request and Socket.IO packet the aggregator received.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DRAWN_SIZE, drawnDataset } from '@fedbit/datasets';
import type { RunningServer } from '@fedbit/server';
import { browserRoom, control, openPage, rounds, screenshot, startE2eServer, status, storedRecords, waitFor, watchTraffic } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

/** Strokes of three digits on a 0..1 square: a 1, a 7 and a 0. */
const DIGITS: { label: number; strokes: [number, number][][] }[] = [
  { label: 1, strokes: [[[0.5, 0.15], [0.5, 0.85]]] },
  { label: 7, strokes: [[[0.25, 0.2], [0.75, 0.2], [0.4, 0.85]]] },
  {
    label: 0,
    strokes: [Array.from({ length: 25 }, (_, i) => [0.5 + 0.25 * Math.cos((i / 24) * 2 * Math.PI), 0.5 + 0.32 * Math.sin((i / 24) * 2 * Math.PI)] as [number, number])],
  },
];

async function draw(page: Page, strokes: [number, number][][]): Promise<void> {
  const box = (await page.getByTestId('draw-canvas').boundingBox())!;
  for (const stroke of strokes) {
    const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (const p of stroke.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
    await page.mouse.up();
  }
}

describe.skipIf(skip)('draw mode in a real browser', () => {
  const room = browserRoom();

  it('a tab trains a round on three digits drawn in it, and no request or frame carries them', async () => {
    const server: RunningServer = (room.server = await startE2eServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, autoStart: false }));

    const context = await room.context();
    const traffic = watchTraffic(server, context);
    const page = await openPage(context, `${server.joinUrl}&backend=wasm`, room.log, 'drawer');
    traffic.page(page);
    page.on('worker', (w) => room.log.push(`[drawer] worker ${w.url()}`));

    await page.getByTestId('mode-drawn').check();
    expect(await page.getByTestId('join').isDisabled()).toBe(true); // no drawing yet
    for (const digit of DIGITS) {
      await draw(page, digit.strokes);
      await page.getByTestId(`label-${digit.label}`).click();
      await page.getByTestId('draw-save').click();
    }
    await waitFor('three kept drawings', async () => ((await page.getByTestId('drawing').count()) === 3 ? true : undefined), 10_000, 100);
    const kept = await storedRecords<{ label: number; pixels: number[] }>(page, 'drawings');
    expect(kept.map((d) => d.label)).toEqual([1, 7, 0]);
    for (const d of kept) {
      expect(d.pixels).toHaveLength(DRAWN_SIZE * DRAWN_SIZE);
      expect(d.pixels.filter((v) => v > 128).length).toBeGreaterThan(20); // ink, not an empty field
    }
    expect(await page.getByTestId('data-note').textContent()).toMatch(/your 3 drawings\. They stay in this browser/);
    await screenshot(page, 'draw-mode.png');

    // A reload keeps them (IndexedDB), and the choice of data.
    await page.reload();
    await waitFor('the drawings after a reload', async () => ((await page.getByTestId('drawing').count()) === 3 ? true : undefined), 10_000, 100);

    await page.getByTestId('join').click();
    await page.getByTestId('device-id').waitFor({ state: 'attached', timeout: 120_000 });
    const deviceId = await page.getByTestId('device-id').getAttribute('data-device-id');
    await control(server, 'start');
    await waitFor('round 1', async () => ((await status(server)).round >= 1 ? true : undefined), 300_000, 1000);
    const [summary] = await rounds(server);
    const record = summary.devices.find((d) => d.deviceId === deviceId);
    expect(record?.status).toBe('accepted');
    // FedAvg's weight is the device's sample count: its three drawings, not a shard of MNIST.
    expect(record?.samples).toBe(3);
    expect(await page.getByTestId('data-source').getAttribute('data-mode')).toBe('drawn');

    // The drawings as stored, at the run's image size as trained on (bytes and the float32 the model sees).
    const drawings = kept.map((d) => ({ label: d.label, pixels: Uint8Array.from(d.pixels) }));
    const small = drawnDataset(drawings, 16, 1);
    const signatures: Buffer[] = [];
    drawings.forEach((d, i) => {
      const s = small.pixels.subarray(i * 256, (i + 1) * 256);
      signatures.push(Buffer.from(d.pixels), Buffer.from(s), Buffer.from(Float32Array.from(s, (v) => v / 127.5 - 1).buffer));
      signatures.push(Buffer.from(d.pixels.join(',')), Buffer.from(Array.from(s).join(',')), Buffer.from(Buffer.from(d.pixels).toString('base64')));
    });
    const seen = traffic.expectNoneCarries(signatures);
    console.log(`draw mode: ${seen}; none carried a drawing`);
  });
});
