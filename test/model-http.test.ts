// The global model served once per version over HTTP, on a real aggregator on loopback: the task
// names the version and its SHA-256 and carries no weights; the resource is immutable and cacheable
// (ETag, 304, one byte range, 416 with the reason); bad requests change nothing; and a real device
// runtime refuses to train on a model whose bytes do not match the hash its task named.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEvent, decodeUpdate, encodeUpdate, modelPath, type Task } from '@fedbit/core';
import { simulatedDevice } from '@fedbit/client/node';
import type { RuntimeEvent } from '@fedbit/client';
import { RawDevice, globalWeights, startTestServer, waitFor } from './helpers';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const meta = (round: number) => ({ round, samples: 10, steps: 1, trainMs: 5, loss: 0.5, updateNormSq: 1 });

describe('the model, once per version over HTTP', () => {
  it('a task names the model and carries no binary; the resource is immutable, cacheable, ranged, and bad requests change nothing', async () => {
    const server = await startTestServer({ rounds: 3, devicesPerRound: 1, minDevices: 1, policy: { kind: 'fixed', bits: 8 } as never });
    const dev = new RawDevice(server.url, server.joinCode);
    cleanup.push(async () => {
      dev.close();
      await server.close();
    });
    const taskArgs: unknown[][] = [];
    dev.socket.on('round:task', (...args: unknown[]) => taskArgs.push(args));
    await dev.join('http-reader');
    const { task, model } = await dev.nextTask();
    expect(taskArgs[0]).toHaveLength(1); // no binary attachment, no acknowledgement callback
    expect(task.model).toEqual({ version: 0, sha256: createHash('sha256').update(model).digest('hex'), bytes: model.byteLength });
    expect(decodeUpdate(model, { round: 1 })).toEqual(await globalWeights(server));

    const url = new URL(modelPath(task.model), server.url).href;
    const etag = `"${task.model.sha256}"`;
    const size = model.byteLength;

    // 200 with the headers a cache needs.
    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('etag')).toBe(etag);
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('content-length')).toBe(String(size));
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(model);

    // HEAD: the headers, no body.
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    // 304 for the ETag (also weak, also in a list); another ETag gets the body.
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const cached = await fetch(url, { headers: { 'if-none-match': header } });
      expect(cached.status, header).toBe(304);
      expect(cached.headers.get('etag')).toBe(etag);
      expect((await cached.arrayBuffer()).byteLength).toBe(0);
    }
    expect((await fetch(url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);

    // One range: 206 with Content-Range and exactly those bytes.
    const ranges: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=100-', 100, size - 1],
      ['bytes=-10', size - 10, size - 1],
      [`bytes=${size - 5}-${size + 1000}`, size - 5, size - 1],
    ];
    for (const [header, start, end] of ranges) {
      const part = await fetch(url, { headers: { range: header } });
      expect(part.status, header).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect(new Uint8Array(await part.arrayBuffer())).toEqual(model.subarray(start, end + 1));
    }
    // If-Range with another validator: the whole resource.
    expect((await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } })).status).toBe(200);
    expect((await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': etag } })).status).toBe(206);

    // Ranges it cannot serve: 416, the size in Content-Range, the reason in the body.
    for (const header of [`bytes=${size}-`, 'bytes=9-2', 'bytes=0-1,4-5', 'items=0-1', 'bytes=x']) {
      const bad = await fetch(url, { headers: { range: header } });
      expect(bad.status, header).toBe(416);
      expect(bad.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(((await bad.json()) as { error: string }).error).toMatch(/range|bytes/);
    }

    // Wrong hash, a version not kept, malformed paths, other methods: refused with the reason.
    const wrongHash = await fetch(new URL(modelPath({ version: 0, sha256: 'a'.repeat(64) }), server.url));
    expect(wrongHash.status).toBe(404);
    expect(((await wrongHash.json()) as { error: string }).error).toContain(`has SHA-256 ${task.model.sha256}`);
    const notKept = await fetch(new URL(modelPath({ version: 7, sha256: task.model.sha256 }), server.url));
    expect(notKept.status).toBe(404);
    expect(((await notKept.json()) as { error: string }).error).toMatch(/version 7 is not kept here \(versions 0 are\)/);
    for (const path of ['/api/model/v/0/abc.bin', `/api/model/v/00/${task.model.sha256}.bin`, `/api/model/v/0/${task.model.sha256.toUpperCase()}.bin`, '/api/model/v/1/', `/api/model/v/0/${task.model.sha256}.bin.gz`]) {
      const bad = await fetch(new URL(path, server.url));
      expect(bad.status, path).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/expected \/api\/model\/v\/<version>\/<sha256>\.bin/);
    }
    const post = await fetch(url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');

    // The device's timing of its download: accepted for the size its task named (the dashboard's downlink rate), refused otherwise.
    const telemetry = { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' };
    const wrong = await dev.send(DeviceEvent.telemetry, { ...telemetry, lastDownload: { bytes: size + 1, ms: 10 } });
    expect(wrong).toMatchObject({ ok: false, code: 'bad-value', field: 'lastDownload.bytes' });
    expect(await dev.send(DeviceEvent.telemetry, { ...telemetry, lastDownload: { bytes: size, ms: 10 } })).toEqual({ ok: true });
    await waitFor('the downlink rate', async () => ((await (await fetch(`${server.url}/api/status`)).json()) as { devices: Array<{ downlinkBps: number | null }> }).devices[0].downlinkBps === (size * 8) / 0.01);

    // None of that changed the run: the device's update is accepted and the round commits.
    const reply = await dev.send(DeviceEvent.update, meta(task.round), encodeUpdate(new Float32Array(decodeUpdate(model).length).fill(1e-4), { bits: 8, round: task.round }));
    expect(reply).toEqual({ ok: true });
    await waitFor('round 1', () => server.coordinator.completed >= 1, 30_000);

    // The next task names the next version, with its own hash; the first version stays while a task may still need it.
    const next = await dev.nextTask();
    expect(next.task.model.version).toBe(1);
    expect(next.task.model.sha256).not.toBe(task.model.sha256);
    expect(server.coordinator.models.versions).toEqual([0, 1]);
  });

  it('a device runtime does not train on a model whose bytes differ from the hash its task named', async () => {
    const server = await startTestServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 20, policy: { kind: 'fixed', bits: 8 } as never });
    // Something between the aggregator and the device flips a bit of the served copy after the task named its hash.
    const transport = server.coordinator.transport;
    const send = transport.sendTask.bind(transport);
    transport.sendTask = (device, task: Task) => {
      server.coordinator.models.get(task.model.version)!.frame[100] ^= 1;
      send(device, task);
    };
    const runtime = simulatedDevice({
      url: server.url,
      joinCode: server.joinCode,
      profile: { name: 'checker', deviceClass: 'laptop', battery: 0.9, charging: true, preference: 'balanced', uplinkBps: 50e6, transmitPowerW: 0.1 },
    });
    const events: RuntimeEvent[] = [];
    void (async () => {
      for await (const e of runtime.events) events.push(e);
    })();
    cleanup.push(async () => {
      runtime.stop();
      await runtime.done();
      await server.close();
    });
    await runtime.start();
    const error = await waitFor('the integrity error', () => events.find((e) => e.type === 'error' && /SHA-256/.test(e.message)), 30_000);
    expect(error.type === 'error' && error.message).toMatch(/round 1 failed on this device: .*SHA-256 [0-9a-f]{64}, but the task named [0-9a-f]{64}: this copy was not used and the task is not trained/);
    expect(events.some((e) => e.type === 'step' || e.type === 'uploaded')).toBe(false);
    expect(server.coordinator.snapshot.summaries).toHaveLength(0);
  });
});
