// A real room is uneven: one tab is many times slower than another. In buffered asynchronous mode
// (FedBuff) the fast tab never waits for the slow one: the run keeps making model versions with no
// dropped round, and both pages show the state the aggregator reports. The slow tab is made slow
// for real: it is told to train on WebGPU, which here is SwiftShader on the CPU (tens of times
// slower per step than WebAssembly, as the backend trial measures).
import { describe, expect, it } from 'vitest';
import { browserRoom, screenshot, startE2eServer, status, waitFor } from './harness';

const skip = process.env.FEDBIT_SKIP_E2E === '1';

describe.skipIf(skip)('an uneven room in async mode', () => {
  const room = browserRoom();

  it('a tab five times slower or more does not hold the other back: three versions, no dropped round, both pages agree with the server', async () => {
    const server = (room.server = await startE2eServer({ mode: 'async', localWork: 'budget', rounds: 3, devicesPerRound: 2, minDevices: 2, deadlineS: 90, async: { buffer: 2, maxStaleness: 8 } }));
    const fast = await room.tab(server.joinUrl, 'fast');
    const slow = await room.tab(`${server.joinUrl}&backend=webgpu`, 'slow');

    // The fast tab measured its backends and chose one; the slow one was told to use WebGPU.
    await waitFor('the fast tab to choose its backend', async () => (await fast.getByTestId('backend-reason').count()) > 0 || undefined, 180_000);
    await waitFor('the slow tab to start on WebGPU', async () => ((await slow.getByTestId('backend').getAttribute('data-backend')) === 'webgpu' ? true : undefined), 180_000);

    const final = await waitFor('three model versions', async () => {
      const s = await status(server);
      return s.round >= 3 ? s : undefined;
    }, 400_000, 1000);
    expect(final.mode).toBe('async');
    expect(final.droppedRounds).toBe(0);

    // The two tabs' own step times differ by 5x or more (each device reports what it measured).
    const stepMs = await Promise.all(
      [fast, slow].map((page) =>
        waitFor('a tab to report its step time', async () => Number((await page.getByTestId('step-ms').getAttribute('data-ms')) ?? 0) || undefined, 300_000),
      ),
    );
    console.log(`step time: fast tab ${stepMs[0].toFixed(0)} ms, slow tab ${stepMs[1].toFixed(0)} ms (${(stepMs[1] / stepMs[0]).toFixed(1)}x)`);
    expect(stepMs[1] / stepMs[0]).toBeGreaterThanOrEqual(5);

    // Both pages show the version the server reports, and say the run is asynchronous.
    for (const page of [fast, slow]) {
      await waitFor('a tab to show the server version', async () => (Number(await page.getByTestId('run-round').textContent()) === final.round ? true : undefined), 30_000);
      expect(await page.getByTestId('wait').textContent()).toMatch(/version|finished|Asynchronous/i);
    }
    await screenshot(fast, 'async-fast-tab.png');
    await screenshot(slow, 'async-slow-tab.png');
  });
});
