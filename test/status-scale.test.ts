// The run's status at scale (docs/SCALE.md, section 5): above STATUS_DEVICE_PAGE devices the status
// pushed to /watch (and GET /api/status) carries the counts of every device plus a bounded page (the
// devices at work, then the latest to join); GET /api/devices pages through all of them for the
// admin; a room under the page still sees every device; a brief that says nothing new is not sent
// again to every device. Real server, real Socket.IO clients on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { DEVICE_STATES, DeviceEvent, STATUS_DEVICE_PAGE, ServerEvent, decodeUpdate, encodeUpdate, type RoundSummary, type RunBrief, type RunStatus } from '@fedbit/core';
import type { RunningServer } from '@fedbit/server';
import { RawDevice, getJson, startTestServer, waitFor } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

/** A dashboard on /watch: every status it is pushed, and the bytes of each on the wire. */
function watch(url: string): { socket: Socket; statuses: RunStatus[]; bytes: number[] } {
  const socket = io(`${url}/watch`, { transports: ['websocket'], forceNew: true, reconnection: false });
  const out = { socket, statuses: [] as RunStatus[], bytes: [] as number[] };
  socket.io.on('open', () =>
    socket.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.includes(`"${ServerEvent.status}"`)) out.bytes.push(Buffer.byteLength(packet.data));
    }),
  );
  socket.on(ServerEvent.status, (status: RunStatus) => out.statuses.push(status));
  return out;
}

async function joinAll(url: string, joinCode: string, n: number): Promise<RawDevice[]> {
  const devices: RawDevice[] = [];
  for (let start = 0; start < n; start += 50) {
    const batch = Array.from({ length: Math.min(50, n - start) }, () => new RawDevice(url, joinCode));
    await Promise.all(batch.map((d, i) => d.join(`phone ${start + i}`)));
    devices.push(...batch);
  }
  return devices;
}

describe(`a room of more than ${STATUS_DEVICE_PAGE} devices`, () => {
  const N = STATUS_DEVICE_PAGE + 60;
  let server: RunningServer;
  let devices: RawDevice[];
  let dashboard: ReturnType<typeof watch>;

  beforeAll(async () => {
    // A round of 5 opens once 5 have joined; its devices never answer, so they stay at work.
    server = await startTestServer({ rounds: 1, devicesPerRound: 5, minDevices: 5, quorum: 5, deadlineS: 300, policy: { kind: 'fixed', bits: 32 } as never });
    dashboard = watch(server.url);
    devices = await joinAll(server.url, server.joinCode, N);
  }, 120_000);
  afterAll(async () => {
    dashboard?.socket.close();
    devices?.forEach((d) => d.close());
    await server?.close();
  });

  it('pushes /watch the counts of every device and a page of them: those at work, then the latest to join', async () => {
    const status = await waitFor('a status counting every device', () => dashboard.statuses.findLast((s) => s.deviceCounts?.total === N && s.deviceCounts.connected === N && s.deviceCounts.byState.training === 5));
    const registry = server.coordinator.devices;
    expect(status.devices).toHaveLength(STATUS_DEVICE_PAGE);
    expect(status.deviceCounts).toMatchObject({ total: registry.size, connected: registry.connectedCount, listed: STATUS_DEVICE_PAGE });
    for (const state of DEVICE_STATES) expect(status.deviceCounts!.byState[state]).toBe(registry.all().filter((d) => d.state === state).length);
    const ids = status.devices.map((d) => d.id);
    const atWork = registry.all().filter((d) => d.state === 'training').map((d) => d.id);
    expect(atWork).toHaveLength(5);
    for (const id of atWork) expect(ids).toContain(id);
    // The latest to join fill the page (the first ones, not at work, are left out), in the order they joined.
    expect(ids).toContain(registry.all().at(-1)!.id);
    expect(ids).not.toContain(registry.all().find((d) => d.state === 'idle')!.id);
    const order = registry.all().map((d) => d.id);
    expect(ids).toEqual([...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    // What went over the wire: the page, not the room (a device's entry is about 300 bytes).
    expect(Math.max(...dashboard.bytes)).toBeLessThan((STATUS_DEVICE_PAGE + 20) * 400);
    // GET /api/status is the same status.
    const polled = (await getJson(`${server.url}/api/status`)).body as RunStatus;
    expect(polled.devices).toHaveLength(STATUS_DEVICE_PAGE);
    expect(polled.deviceCounts!.total).toBe(N);
  });

  it('GET /api/devices pages through every device exactly once, in the order they joined', async () => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += 97) {
      const page = await getJson(`${server.url}/api/devices?offset=${offset}&limit=97`, { headers: ADMIN });
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ total: N, offset, limit: 97 });
      seen.push(...page.body.devices.map((d: { id: string }) => d.id));
      if (page.body.devices.length < 97) break;
    }
    expect(seen).toEqual(server.coordinator.devices.all().map((d) => d.id));
    expect(new Set(seen).size).toBe(N);
    const first = await getJson(`${server.url}/api/devices`, { headers: ADMIN });
    expect(first.body).toMatchObject({ offset: 0, limit: STATUS_DEVICE_PAGE });
    expect(first.body.devices[0]).toMatchObject({ id: server.coordinator.devices.all()[0].id, name: expect.stringMatching(/^phone \d+$/), state: expect.any(String) });
  });

  it('refuses a bad query with 400 saying what was expected, and a missing admin token with 401', async () => {
    for (const [query, says] of [
      ['limit=0', 'limit must be at least 1'],
      ['limit=5000', 'limit must be at most 1000'],
      ['offset=-1', 'offset must be a whole number'],
      ['offset=abc', 'offset must be a whole number'],
      ['limit=2.5', 'limit must be a whole number'],
      ['page=2', 'page'],
      ['limit=1&limit=2', 'limit is given more than once'],
    ] as const) {
      const reply = await getJson(`${server.url}/api/devices?${query}`, { headers: ADMIN });
      expect(reply.status, query).toBe(400);
      expect(reply.body.error, query).toContain(says);
      expect(reply.body.error, query).toContain('expected ?offset=<n>&limit=<n>');
    }
    expect((await getJson(`${server.url}/api/devices`)).status).toBe(401);
  });

  it('sends every device its part of the committed round (over several turns of the event loop), its own record only', async () => {
    const heard = new Map<string, RoundSummary>();
    for (const d of devices) d.socket.on(ServerEvent.summary, (summary: RoundSummary) => heard.set(d.welcome!.deviceId, summary));
    const working = await waitFor('the round\'s 5 tasks', () => (devices.filter((d) => d.tasks.length > 0).length === 5 ? devices.filter((d) => d.tasks.length > 0) : null));
    for (const d of working) {
      const { task, model } = d.tasks[0];
      const update = encodeUpdate(new Float32Array(decodeUpdate(model).length).fill(1e-4), { bits: 32, round: task.round });
      expect(await d.send(DeviceEvent.update, { round: task.round, samples: 100, steps: 2, trainMs: 10, loss: 0.5, updateNormSq: 1 }, update)).toMatchObject({ ok: true });
    }
    await waitFor('every device to hear round 1', () => heard.size === N || null, 60_000);
    const workers = new Set(working.map((d) => d.welcome!.deviceId));
    for (const [id, summary] of heard) {
      expect(summary.round).toBe(1);
      expect(summary.devices.map((r) => r.deviceId)).toEqual(workers.has(id) ? [id] : []);
      expect(Object.keys(summary.bits)).toEqual(workers.has(id) ? [id] : []);
    }
  });
});

describe('a classroom', () => {
  let server: RunningServer;
  let devices: RawDevice[];

  beforeAll(async () => {
    server = await startTestServer({ rounds: 1, devicesPerRound: 40, minDevices: 40, quorum: 40 });
    devices = await joinAll(server.url, server.joinCode, 30);
  });
  afterAll(async () => {
    devices?.forEach((d) => d.close());
    await server?.close();
  });

  it('of 30 still sees every device in its status', async () => {
    const dashboard = watch(server.url);
    const status = await waitFor('the status on /watch', () => dashboard.statuses[0]);
    dashboard.socket.close();
    expect(status.devices.map((d) => d.id)).toEqual(server.coordinator.devices.all().map((d) => d.id));
    expect(status.devices.map((d) => d.id).sort()).toEqual(devices.map((d) => d.welcome!.deviceId).sort());
    expect(status.deviceCounts).toMatchObject({ total: 30, connected: 30, listed: 30 });
  });

  it('does not send every device a brief that says what the last one said', async () => {
    await new Promise((resolve) => setTimeout(resolve, 500)); // the brief after the last join has gone out
    const briefs: RunBrief[] = [];
    devices[0].socket.on(ServerEvent.brief, (brief: RunBrief) => briefs.push(brief));
    // Telemetry from another device changes nothing a brief says (the run waits for 10 more either way).
    for (let i = 0; i < 6; i++) {
      const reply = await devices[1].send(DeviceEvent.telemetry, { battery: 0.8 - i / 100, charging: true, preference: 'balanced', deviceClass: 'laptop' });
      expect(reply.ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(briefs).toEqual([]);
    // A change it does say goes out: one more device joins, one fewer is waited for.
    const late = new RawDevice(server.url, server.joinCode);
    devices.push(late);
    await late.join('late');
    const brief = await waitFor('the next brief', () => briefs[0]);
    expect(brief.wait).toContain('waiting for 9 more devices');
  });
});
