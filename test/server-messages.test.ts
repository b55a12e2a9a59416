// The device checks everything the aggregator sends. A real Socket.IO server on loopback plays an
// aggregator of another version: a welcome of the wrong shape is refused with a message a person can
// act on, and a malformed task is reported and ignored while the device keeps running.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEvent, ServerEvent } from '@fedbit/core';
import type { RuntimeEvent } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { waitFor } from './helpers';

const PROFILE = { name: 'checker', deviceClass: 'laptop' as const, battery: 0.9, charging: true, preference: 'balanced' as const, uplinkBps: 50e6, transmitPowerW: 0.1 };

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function fakeAggregator(onHello: (ack: (reply: unknown) => void, socket: import('socket.io').Socket) => void): Promise<string> {
  const http = createServer();
  const io = new Server(http);
  io.on('connection', (socket) => socket.on(DeviceEvent.hello, (_hello: unknown, ack: (reply: unknown) => void) => onHello(ack, socket)));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => io.close(() => resolve())));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

function collect(url: string) {
  const runtime = simulatedDevice({ url, joinCode: 'any', profile: PROFILE, runtime: { reconnectDelayMs: 60_000 } });
  const events: RuntimeEvent[] = [];
  void (async () => {
    for await (const event of runtime.events) events.push(event);
  })();
  cleanup.push(async () => {
    runtime.stop();
    await runtime.done();
  });
  return { runtime, events };
}

describe('messages from the aggregator', () => {
  it('a welcome of the wrong shape is refused, naming the field and what to do', async () => {
    const url = await fakeAggregator((ack) => ack({ ok: true, deviceId: 'abcdef', runId: 'r', round: 0, phase: 'training' }));
    const { runtime, events } = collect(url);
    await runtime.start();
    const error = await waitFor('an error event', () => events.find((e): e is Extract<RuntimeEvent, { type: 'error' }> => e.type === 'error'), 30_000);
    expect(error.message).toMatch(/device:hello acknowledgement this device cannot read/);
    expect(error.message).toMatch(/model|layoutFingerprint|paramCount|schedule|shard|maxUpdateBytes/);
    expect(error.message).toMatch(/reload the page/);
    expect(events.some((e) => e.type === 'joined')).toBe(false);
  });

  it('a malformed task is reported and ignored; the device stays connected and idle', async () => {
    const url = await fakeAggregator((ack, socket) => {
      ack({ ok: false, code: 'schema', reason: 'not today' });
      socket.emit(ServerEvent.task, { round: -1, bits: 3 }, new Uint8Array(8));
      socket.emit(ServerEvent.cancel, { reason: 42 });
    });
    const { runtime, events } = collect(url);
    await runtime.start();
    await waitFor('two protocol errors', () => events.filter((e) => e.type === 'error' && e.code === 'protocol').length >= 2 || undefined, 30_000);
    const messages = events.filter((e): e is Extract<RuntimeEvent, { type: 'error' }> => e.type === 'error').map((e) => e.message);
    expect(messages.some((m) => /round:task this device cannot read \(round: /.test(m))).toBe(true);
    expect(messages.some((m) => /round:cancel this device cannot read/.test(m))).toBe(true);
    expect(messages.some((m) => /refused to let this device join: not today/.test(m))).toBe(true);
    expect(events.some((e) => e.type === 'task')).toBe(false);
  });
});
