// Bad input from outside is refused with a reason and changes nothing: the global model, the run's
// records and the other devices are untouched. Real server, raw Socket.IO clients on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceEvent, PROTOCOL_VERSION, decodeUpdate, encodeUpdate, type Task } from '@fedbit/core';
import type { RunningServer } from '@fedbit/server';
import { RawDevice, getJson, globalWeights, maxRelativeError, startTestServer, waitFor } from './helpers';
import { corruptScale } from './frames';

let server: RunningServer;
let dev: RawDevice;
let task: Task;
let global0: Float32Array;
let n: number;

const meta = (round: number) => ({ round, samples: 100, steps: 2, trainMs: 10, loss: 0.5, updateNormSq: 1 });

beforeAll(async () => {
  server = await startTestServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 120, policy: { kind: 'fixed', bits: 8 } as never });
  dev = new RawDevice(server.url, server.joinCode);
  await dev.join('raw');
  const first = await dev.nextTask();
  task = first.task;
  global0 = decodeUpdate(first.model);
  n = global0.length;
});

afterAll(async () => {
  dev?.close();
  await server?.close();
});

describe('refused and without effect', () => {
  it('no join code, or a wrong one, cannot connect', async () => {
    for (const code of [undefined, 'wrong-code']) {
      const intruder = new RawDevice(server.url, code);
      const error = (await intruder.connected().then(
        () => null,
        (e: Error & { data?: { code: string } }) => e,
      )) as (Error & { data?: { code: string } }) | null;
      intruder.close();
      expect(error?.data?.code).toBe('bad-join-code');
      expect(error?.message).toMatch(/join code/);
    }
    expect(server.coordinator.devices.size).toBe(1);
  });

  it('control actions need the admin token; status needs none', async () => {
    const post = (token: string | null, body: unknown) =>
      getJson(`${server.url}/api/control`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    expect((await post(null, { action: 'stop' })).status).toBe(401);
    const wrong = await post('not-the-token', { action: 'stop' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/admin token/);
    expect(JSON.stringify(wrong.body)).not.toContain(server.adminToken);
    const bad = await post(server.adminToken, { action: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/action/);
    expect((await getJson(`${server.url}/api/join`)).status).toBe(401);
    const status = await getJson(`${server.url}/api/status`);
    expect(status.status).toBe(200);
    expect(status.body.phase).toBe('training');
    expect(JSON.stringify(status.body)).not.toContain(server.adminToken);
    expect(JSON.stringify(status.body)).not.toContain(server.joinCode);
  });

  it('schema-invalid payloads, unknown events and events before joining are refused with the field named', async () => {
    const other = new RawDevice(server.url, server.joinCode);
    await other.connected();
    const early = await other.send(DeviceEvent.telemetry, { battery: 1 });
    expect(early).toMatchObject({ ok: false, code: 'not-joined' });
    const badHello = await other.send(DeviceEvent.hello, { protocol: PROTOCOL_VERSION, name: 'x', platform: 'node', backend: 'wasm', telemetry: { battery: 7 } });
    expect(badHello).toMatchObject({ ok: false, code: 'schema' });
    expect(badHello.field).toBe('telemetry.battery');
    const unknown = await other.send('device:hack', {});
    expect(unknown).toMatchObject({ ok: false, code: 'unknown-event' });
    other.close();
    const badMeta = await dev.send(DeviceEvent.update, { ...meta(task.round), samples: -1 }, encodeUpdate(new Float32Array(n), { bits: 8, round: task.round }));
    expect(badMeta).toMatchObject({ ok: false, code: 'schema', field: 'samples' });
    const noFrame = await dev.send(DeviceEvent.update, meta(task.round));
    expect(noFrame).toMatchObject({ ok: false, code: 'schema', field: 'frame' });
    const badTelemetry = await dev.send(DeviceEvent.telemetry, { battery: 0.5, charging: true, preference: 'max-power', deviceClass: 'phone' });
    expect(badTelemetry).toMatchObject({ ok: false, code: 'schema', field: 'preference' });
  });

  it('a handler that fails answers internal, and the aggregator and the device go on', async () => {
    // Fault injection: the device API the transport calls throws once, as a bug would.
    const api = server.coordinator.deviceApi;
    const telemetry = api.telemetry;
    api.telemetry = () => {
      throw new Error('injected fault');
    };
    const telemetryPayload = { battery: 0.5, charging: false, preference: 'balanced', deviceClass: 'laptop' };
    try {
      expect(await dev.send(DeviceEvent.telemetry, telemetryPayload)).toMatchObject({ ok: false, code: 'internal', reason: expect.stringMatching(/could not handle this device:telemetry: injected fault/) });
    } finally {
      api.telemetry = telemetry;
    }
    expect(await dev.send(DeviceEvent.telemetry, telemetryPayload)).toMatchObject({ ok: true });
    expect((await getJson(`${server.url}/api/status`)).status).toBe(200);
    expect(server.coordinator.completed).toBe(0);
  });

  it('a config that leaves devices empty shards is refused at start, naming the fix', async () => {
    await expect(startTestServer({ dataset: { name: 'mnist', imageSize: 16, shards: 10_000 } } as never)).rejects.toThrow(/dataset\.shards 10000: the iid partition of mnist's \d+ training images leaves \d+ shards? empty; expected fewer shards/);
  });

  it('malformed, mis-sized, stale, oversized and NaN updates are refused', async () => {
    const update = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-3);
    const good = encodeUpdate(update, { bits: 8, round: task.round, blockSize: task.blockSize, seed: 3 });
    const cases: Array<[string, Uint8Array, string, number?]> = [
      ['stale round', encodeUpdate(update, { bits: 8, round: task.round + 1 }), 'stale-round', task.round + 1],
      ['wrong length', encodeUpdate(update.subarray(1), { bits: 8, round: task.round }), 'wrong-length'],
      ['truncated frame', good.slice(0, Math.floor(good.length / 2)), 'malformed-frame'],
      ['bad checksum', good.map((b, i) => (i === good.length - 1 ? b ^ 0xff : b)), 'bad-checksum'],
      ['NaN scale', corruptScale(good), 'bad-value'],
      ['wrong precision', encodeUpdate(update, { bits: 4, round: task.round }), 'bad-value'],
      ['oversized', new Uint8Array(server.coordinator.maxUpdateBytes + 100), 'oversized'],
    ];
    for (const [what, frame, code, round] of cases) {
      const reply = await dev.send(DeviceEvent.update, meta(round ?? task.round), frame);
      expect(reply, what).toMatchObject({ ok: false, code });
      expect(typeof reply.reason, what).toBe('string');
    }
    expect(server.coordinator.completed).toBe(0);
    expect(server.coordinator.currentRound?.received).toBe(0);

    // A message over the transport's limit drops the connection, and nothing else changes.
    const flood = new RawDevice(server.url, server.joinCode);
    await flood.join('huge');
    const dropped = new Promise<string>((resolve) => flood.socket.on('disconnect', (reason) => resolve(reason)));
    flood.socket.emit(DeviceEvent.update, meta(task.round), new Uint8Array(server.coordinator.maxUpdateBytes + 200 * 1024));
    expect(await dropped).toBeTruthy();
    flood.close();

    // Floods are throttled: a burst of progress events gets rate-limited refusals.
    for (let i = 0; i < 120; i++) dev.socket.emit(DeviceEvent.progress, { round: task.round, step: 1, steps: 2, loss: 0.1 });
    await waitFor('rate-limit refusals', () => dev.refusals.some((r) => (r as { code: string }).code === 'rate-limited'), 10_000);
    await new Promise((r) => setTimeout(r, 3500)); // let the bucket refill

    // The good update is accepted once; a second copy is a duplicate; the round commits exactly it.
    expect(await dev.send(DeviceEvent.update, meta(task.round), good)).toMatchObject({ ok: true });
    const dup = await dev.send(DeviceEvent.update, meta(task.round), good);
    expect(['duplicate', 'late', 'stale-round']).toContain(dup.code);
    await waitFor('round 1 committed', () => server.coordinator.completed >= 1);
    const late = await dev.send(DeviceEvent.update, meta(task.round), good);
    expect(late).toMatchObject({ ok: false });
    expect(['late', 'stale-round']).toContain(late.code);

    const decoded = decodeUpdate(good);
    const expected = new Float64Array(n);
    for (let i = 0; i < n; i++) expected[i] = global0[i] + decoded[i];
    expect(maxRelativeError(await globalWeights(server), expected)).toBeLessThan(1e-6);
    expect(server.coordinator.summaries).toHaveLength(1);
    expect(server.coordinator.summaries[0].accepted).toBe(1);
  });
});
