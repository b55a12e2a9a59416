// A participant with the join URL is a possible attacker. Each test here is an attack that worked
// against the first version (issue 13), run against a real server with raw Socket.IO clients on
// loopback: identity takeover, repeated hellos, an update of 3.4e38s, bytes before joining, too many
// connections, a foreign Origin, join-code guessing, a malformed path, a samples flood.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { get } from 'node:http';
import { Manager, io } from 'socket.io-client';
import { DeviceEvent, PROTOCOL_VERSION, decodeUpdate, encodeUpdate, type Task } from '@fedbit/core';
import { RunStore, type RunningServer } from '@fedbit/server';
import { RawDevice, getJson, globalWeights, startTestServer, waitFor } from './helpers';

const meta = (round: number, steps = 2) => ({ round, samples: 100, steps, trainMs: 10, loss: 0.5, updateNormSq: 1 });
const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
const closed = (socket: RawDevice['socket']) => new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(String(reason))));

function connectError(url: string, options: Parameters<typeof io>[1]): Promise<(Error & { data?: { code?: string } }) | null> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve(null);
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve(error as Error & { data?: { code?: string } });
    });
  });
}

describe('a joined device cannot become another', () => {
  let server: RunningServer;
  let victim: RawDevice;
  let task: Task;

  beforeAll(async () => {
    server = await startTestServer({ rounds: 3, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 120, policy: { kind: 'fixed', bits: 32 } as never });
    victim = new RawDevice(server.url, server.joinCode);
    await victim.join('victim');
    task = (await victim.nextTask()).task;
  });
  afterAll(async () => {
    victim?.close();
    await server?.close();
  });

  it('gives a resume token with a new id and keeps only its hash', () => {
    expect(victim.welcome!.resumeToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const device = server.coordinator.devices.get(victim.welcome!.deviceId)!;
    expect(device.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(device)).not.toContain(victim.welcome!.resumeToken);
  });

  it("a hello with the victim's public id but without its token joins as a new device and leaves the victim alone", async () => {
    const victimId = victim.welcome!.deviceId;
    const status = await getJson(`${server.url}/api/status`);
    expect(status.body.devices.map((d: { id: string }) => d.id)).toContain(victimId); // the id is public...
    expect(JSON.stringify(status.body)).not.toContain(victim.welcome!.resumeToken); // ...the token is not

    for (const resumeToken of [undefined, 'A'.repeat(32)]) {
      const thief = new RawDevice(server.url, server.joinCode);
      const welcome = await thief.join('thief', { deviceId: victimId, ...(resumeToken ? { resumeToken } : {}) });
      expect(welcome.deviceId).not.toBe(victimId);
      expect(welcome.resumeToken).toBeTruthy();
      await new Promise((r) => setTimeout(r, 200));
      expect(victim.socket.connected).toBe(true);
      expect(server.coordinator.devices.get(victimId)!.socketId).toBe(victim.socket.id);
      // The thief gets no task and cannot upload for the victim's slot.
      expect(thief.tasks).toHaveLength(0);
      const stolen = await thief.send(DeviceEvent.update, meta(task.round), encodeUpdate(new Float32Array(decodeUpdate(victim.tasks[0].model).length), { bits: 32, round: task.round }));
      expect(stolen).toMatchObject({ ok: false, code: 'not-selected' });
      thief.close();
    }
    expect(server.coordinator.currentRound?.received).toBe(0);
  });

  it('a second hello on one connection is refused and creates no ghost device', async () => {
    const device = new RawDevice(server.url, server.joinCode);
    await device.join('once');
    const before = server.coordinator.devices.size;
    const again = await device.send(DeviceEvent.hello, { protocol: PROTOCOL_VERSION, name: 'twice', platform: 'node', backend: 'wasm', telemetry: { battery: 1, charging: true, preference: 'balanced', deviceClass: 'laptop' } });
    expect(again).toMatchObject({ ok: false, code: 'already-joined' });
    expect(again.reason).toMatch(/joined already/);
    expect(server.coordinator.devices.size).toBe(before);
    device.close();
    await waitFor('the device to go away', () => server.coordinator.devices.get(device.welcome!.deviceId)!.socketId === null, 10_000);
    expect(server.coordinator.devices.connected().map((d) => d.name)).toEqual(['victim']);
  });

  it('an update of 3.4e38s moves the model by at most the norm bound, and the next round runs', async () => {
    const global0 = await globalWeights(server);
    const huge = new Float32Array(global0.length).fill(3.4e38);
    expect(await victim.send(DeviceEvent.update, meta(task.round), encodeUpdate(huge, { bits: 32, round: task.round }))).toMatchObject({ ok: true });
    await waitFor('round 1 committed', () => server.coordinator.completed >= 1);
    const global1 = await globalWeights(server);
    expect(global1.every(Number.isFinite)).toBe(true);
    const moved = norm(global1.map((v, i) => v - global0[i]));
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(0.5 * norm(global0) * 1.0001);
    const next = await victim.nextTask();
    expect(next.task.round).toBe(2);
  });

  it('the rightful device rejoins from a new connection with its token, and the old connection is closed', async () => {
    const { deviceId, resumeToken } = victim.welcome!;
    const oldClosed = closed(victim.socket);
    const back = new RawDevice(server.url, server.joinCode);
    const welcome = await back.join('victim', { deviceId, resumeToken });
    expect(welcome.deviceId).toBe(deviceId);
    expect(welcome.resumeToken).toBeUndefined();
    expect(await oldClosed).toBeTruthy();
    expect(server.coordinator.devices.get(deviceId)!.socketId).toBe(back.socket.id);
    back.close();
  });

  it('a path with malformed percent-encoding is a 400 that says so', async () => {
    const reply = await getJson(`${server.url}/tfjs-wasm/%E0%A4%A`);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/percent-encoding/);
  });

  it('many callers of /api/samples share one render per model version', async () => {
    const render = vi.spyOn(server.host as unknown as { renderSamples: () => Promise<Uint8Array> }, 'renderSamples');
    const replies = await Promise.all(Array.from({ length: 5 }, () => fetch(`${server.url}/api/samples`)));
    expect(replies.every((r) => r.status === 200 && r.headers.get('content-type') === 'image/png')).toBe(true);
    expect(render.mock.calls.length).toBeLessThanOrEqual(1);
    render.mockRestore();
  });

  it('the run directory is readable by its owner only', () => {
    expect(statSync(server.runDir).mode & 0o077).toBe(0);
  });
});

describe('a bound switched off still cannot break the model', () => {
  it('a merge that would overflow is dropped, the model stays finite and unchanged, and the round runs again', async () => {
    const server = await startTestServer({ rounds: 3, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 120, maxUpdateNormRatio: null, policy: { kind: 'fixed', bits: 32 } as never });
    const dev = new RawDevice(server.url, server.joinCode);
    try {
      await dev.join('overflow');
      const first = await dev.nextTask();
      const huge = new Float32Array(decodeUpdate(first.model).length).fill(3.4e38);
      // Unbounded, 3.4e38 + w is still finite: the first such update is merged...
      expect(await dev.send(DeviceEvent.update, meta(1), encodeUpdate(huge, { bits: 32, round: 1 }))).toMatchObject({ ok: true });
      const second = await dev.nextTask();
      expect(second.task.round).toBe(2);
      const global1 = await globalWeights(server);
      // ...the second would make 6.8e38 = Infinity: dropped, and round 2 opens again.
      expect(await dev.send(DeviceEvent.update, meta(2), encodeUpdate(huge, { bits: 32, round: 2 }))).toMatchObject({ ok: true });
      const again = await dev.nextTask();
      expect(again.task.round).toBe(2);
      expect(server.coordinator.completed).toBe(1);
      expect(server.coordinator.snapshot.lastRound?.message).toMatch(/not applied/);
      const now = await globalWeights(server);
      expect(now.every(Number.isFinite)).toBe(true);
      expect(Array.from(now)).toEqual(Array.from(global1));
    } finally {
      dev.close();
      await server.close();
    }
  });
});

describe('an error inside one round', () => {
  it('drops that round only: the model and the records are as they were, and the round runs again', async () => {
    const server = await startTestServer({ rounds: 2, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 120, policy: { kind: 'fixed', bits: 8 } as never });
    const dev = new RawDevice(server.url, server.joinCode);
    const write = vi.spyOn(RunStore.prototype, 'commitRound').mockImplementationOnce(() => {
      throw new Error('ENOSPC: no space left on device');
    });
    try {
      await dev.join('unlucky');
      const { task, model } = await dev.nextTask();
      const global0 = decodeUpdate(model);
      const update = encodeUpdate(new Float32Array(global0.length).fill(1e-3), { bits: 8, round: 1, blockSize: task.blockSize });
      expect(await dev.send(DeviceEvent.update, meta(1), update)).toMatchObject({ ok: true });
      const again = await dev.nextTask();
      expect(again.task.round).toBe(1);
      expect(server.coordinator.snapshot.lastRound?.message).toMatch(/failed on the aggregator \(ENOSPC/);
      expect(server.coordinator.completed).toBe(0);
      expect(server.coordinator.totals.uplinkBytes).toBe(0);
      expect(Array.from(await globalWeights(server))).toEqual(Array.from(global0));
      expect(await dev.send(DeviceEvent.update, meta(1), update)).toMatchObject({ ok: true });
      await waitFor('round 1 committed', () => server.coordinator.completed === 1, 30_000);
    } finally {
      write.mockRestore();
      dev.close();
      await server.close();
    }
  });
});

describe('what a connection may do before it joins', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({}, {});
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a binary attachment before device:hello closes the connection', async () => {
    const sneak = new RawDevice(server.url, server.joinCode);
    await sneak.connected();
    const gone = closed(sneak.socket);
    sneak.socket.emit(DeviceEvent.update, meta(1), new Uint8Array(1024 * 1024));
    expect(await gone).toBeTruthy();
    expect(server.coordinator.devices.size).toBe(0);
    sneak.close();
  });

  it('a connection without the join code (a dashboard watcher) that sends a binary frame is closed', async () => {
    const manager = new Manager(server.url, { transports: ['websocket'], reconnection: false, forceNew: true } as never);
    const watcher = manager.socket('/watch');
    await new Promise<void>((resolve) => watcher.once('connect', () => resolve()));
    const engineClosed = new Promise<void>((resolve) => manager.engine.once('close', () => resolve()));
    manager.engine.send(new Uint8Array(1024 * 1024) as never);
    await engineClosed;
    watcher.disconnect();
  });
});

/** The Engine.IO handshake as a browser would send it: the status and the reason the server gives. */
function handshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(`${url}/socket.io/?EIO=4&transport=polling`, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('who may connect', () => {
  it('a page from another origin cannot open a connection; the aggregator’s own origin can', async () => {
    const server = await startTestServer({});
    try {
      const foreign = await handshake(server.url, { origin: 'http://evil.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.body).toMatch(/origin http:\/\/evil.example may not connect/);
      expect(await connectError(server.url, { auth: { joinCode: server.joinCode }, extraHeaders: { origin: 'http://evil.example' } })).not.toBeNull();
      expect(await connectError(server.url, { auth: { joinCode: server.joinCode }, extraHeaders: { origin: server.url } })).toBeNull();
      // The code a student types is not case-sensitive.
      expect(await connectError(server.url, { auth: { joinCode: ` ${server.joinCode.toUpperCase()} ` } })).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('at most perAddress connections from one address', async () => {
    const server = await startTestServer({}, { admission: { perAddress: 3, loopbackExempt: false } });
    const held = [0, 1, 2].map(() => new RawDevice(server.url, server.joinCode));
    try {
      await Promise.all(held.map((d) => d.connected()));
      const fourth = await handshake(server.url);
      expect(fourth.status).toBe(403);
      expect(fourth.body).toMatch(/too many connections from 127.0.0.1 \(at most 3\)/);
      expect(await connectError(server.url, { auth: { joinCode: server.joinCode } })).not.toBeNull();
      held[0].close();
      await waitFor('a slot to free up', async () => (await connectError(server.url, { auth: { joinCode: server.joinCode } })) === null, 10_000);
    } finally {
      held.forEach((d) => d.close());
      await server.close();
    }
  });
});

describe('guessing the join code', () => {
  it('after a few wrong codes, the address waits out the minute even with the right one', async () => {
    const server = await startTestServer({}, { admission: { failedJoinsPerMinute: 3 } });
    try {
      for (let i = 0; i < 3; i++) expect((await connectError(server.url, { auth: { joinCode: `guess-${i}` } }))?.data?.code).toBe('bad-join-code');
      const right = await connectError(server.url, { auth: { joinCode: server.joinCode } });
      expect(right?.data?.code).toBe('rate-limited');
      expect(right?.message).toMatch(/try again in \d+ s/);
    } finally {
      await server.close();
    }
  });
});
