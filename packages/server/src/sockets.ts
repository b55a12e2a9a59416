// The Socket.IO face of the aggregator. Every event is checked here before the round loop sees it:
// the join code at the handshake, a schema per event, binary payloads by type and size, and a token
// bucket per connection against floods. A refusal goes back to the sender with a code and a reason
// (as the acknowledgement, or as a device:refused event) and changes nothing.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { Server, Socket } from 'socket.io';
import type { Logger } from 'pino';
import {
  DEVICE_EVENTS,
  DeviceEvent,
  HelloSchema,
  LeaveSchema,
  ProbeSchema,
  ProgressSchema,
  ServerEvent,
  TelemetrySchema,
  UpdateMetaSchema,
  describeZodError,
  type Ack,
  type Refusal,
  type RoundSummary,
  type Welcome,
} from '@fedbit/core';
import type { ZodType } from 'zod';
import { refusal, type Coordinator, type Transport } from './round';
import type { Device } from './devices';
import type { ModelHost } from './model-host';
import type { ServerMetrics } from './metrics';
import { statusOf } from './status';

/** Constant-time comparison of a secret (join code or admin token) with what a client sent. */
export function secretEquals(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/** Token bucket: `rate` events per second on average, bursts up to `capacity`. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  strikes = 0;
  constructor(
    private readonly rate: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.strikes++;
    return false;
  }
}

export interface SocketOptions {
  coordinator: Coordinator;
  host: ModelHost;
  joinCode: string;
  log: Logger;
  metrics: ServerMetrics;
  /** Events per second per connection, and the burst allowed. */
  rateLimit?: { perSecond: number; burst: number; disconnectAfterStrikes: number };
}

type AckFn = (reply: unknown) => void;

function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

function toBytes(value: Uint8Array | ArrayBuffer): Uint8Array {
  // A private, aligned copy: socket.io may hand a slice of a pooled buffer.
  const view = value instanceof ArrayBuffer ? new Uint8Array(value) : value;
  return new Uint8Array(view);
}

export function attachSockets(io: Server, options: SocketOptions): Transport {
  const { coordinator, host, joinCode, log, metrics } = options;
  const limit = options.rateLimit ?? { perSecond: 20, burst: 60, disconnectAfterStrikes: 200 };
  const watch = io.of('/watch');

  io.use((socket, next) => {
    if (!secretEquals(joinCode, socket.handshake.auth?.joinCode)) {
      metrics.refused('bad-join-code');
      const error = new Error('join code missing or wrong: open the join URL the aggregator printed (it carries the code)') as Error & {
        data?: unknown;
      };
      error.data = { code: 'bad-join-code' };
      return next(error);
    }
    next();
  });

  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  const transport: Transport = {
    sendTask(device, task, model) {
      const socket = device.socketId ? io.sockets.sockets.get(device.socketId) : undefined;
      if (!socket) return Promise.resolve(null);
      const sentAt = Date.now();
      return new Promise((resolve) => {
        socket.timeout(Math.max(1000, task.deadlineMs)).emit(ServerEvent.task, task, model, (error: Error | null) => {
          resolve(error ? null : Date.now() - sentAt);
        });
      });
    },
    cancel(device, round, reason) {
      if (device.socketId) io.to(device.socketId).emit(ServerEvent.cancel, { round, reason });
    },
    broadcastSummary(summary: RoundSummary) {
      io.emit(ServerEvent.summary, summary);
      watch.emit(ServerEvent.summary, summary);
    },
    statusChanged() {
      metrics.setConnected(coordinator.devices.connected().length);
      statusTimer ??= setTimeout(() => {
        statusTimer = null;
        watch.emit(ServerEvent.status, statusOf(coordinator));
      }, 200);
    },
  };

  watch.on('connection', (socket) => socket.emit(ServerEvent.status, statusOf(coordinator)));

  io.on('connection', (socket: Socket) => {
    const bucket = new TokenBucket(limit.perSecond, limit.burst);
    let device: Device | null = null;

    const refuse = (event: string, reply: Refusal, ack?: AckFn) => {
      metrics.refused(reply.code);
      log.warn({ socket: socket.id, device: device?.id, event, code: reply.code, reason: reply.reason }, 'refused');
      const message = { ...reply, event };
      if (ack) ack(message);
      else socket.emit(ServerEvent.refused, message);
    };

    // Every incoming event passes here first: unknown names and floods are refused.
    socket.use(([event, ...args], next) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as AckFn) : undefined;
      if (!bucket.take()) {
        refuse(event, refusal('rate-limited', `more than ${limit.perSecond} messages per second; slow down`), ack);
        if (bucket.strikes >= limit.disconnectAfterStrikes) socket.disconnect(true);
        return;
      }
      if (!DEVICE_EVENTS.includes(event)) {
        refuse(event, refusal('unknown-event', `unknown event "${String(event).slice(0, 64)}"; expected one of ${DEVICE_EVENTS.join(', ')}`), ack);
        return;
      }
      if (event !== DeviceEvent.hello && !device) {
        refuse(event, refusal('not-joined', `send ${DeviceEvent.hello} first`), ack);
        return;
      }
      next();
    });

    /** Validates a payload against its schema; on failure refuses and returns null. */
    function parse<T>(schema: ZodType<T>, event: string, payload: unknown, ack?: AckFn): T | null {
      const result = schema.safeParse(payload);
      if (result.success) return result.data;
      const { field, reason } = describeZodError(result.error);
      refuse(event, refusal('schema', `${event}: ${reason}`, { field }), ack);
      return null;
    }

    /** The acknowledgement callback is always the last argument, however many the sender gave. */
    function split(args: unknown[]): [unknown[], AckFn | undefined] {
      const last = args[args.length - 1];
      return typeof last === 'function' ? [args.slice(0, -1), last as AckFn] : [args, undefined];
    }

    socket.on(DeviceEvent.hello, (...args: unknown[]) => {
      const [[payload], ack] = split(args);
      const hello = parse(HelloSchema, DeviceEvent.hello, payload, ack);
      if (!hello) return;
      const known = hello.deviceId ? coordinator.devices.get(hello.deviceId) : undefined;
      const id = known ? known.id : randomBytes(9).toString('base64url');
      if (known?.socketId && known.socketId !== socket.id) io.sockets.sockets.get(known.socketId)?.disconnect(true);
      const shard = known ? known.shard : coordinator.nextShard++ % coordinator.config.dataset.shards;
      device = coordinator.devices.upsert(id, hello, socket.id, shard);
      const config = coordinator.config;
      const welcome: Welcome = {
        deviceId: id,
        runId: coordinator.runId,
        round: coordinator.completed,
        phase: coordinator.phase,
        model: host.modelConfig as unknown as Record<string, unknown>,
        layoutFingerprint: host.fingerprint,
        paramCount: host.paramCount,
        schedule: config.model.schedule,
        shard: {
          dataset: config.dataset.name,
          imageSize: config.dataset.imageSize,
          partition: config.dataset.partition,
          alpha: config.dataset.alpha,
          seed: config.seed,
          index: shard,
          count: config.dataset.shards,
        },
        maxUpdateBytes: coordinator.maxUpdateBytes,
      };
      log.info({ device: id, name: hello.name, backend: hello.backend, platform: hello.platform, rejoin: Boolean(known) }, 'device joined');
      ack?.({ ok: true, ...welcome } satisfies Ack<Welcome>);
      coordinator.resendTaskIfPending(device);
      coordinator.notify();
    });

    socket.on(DeviceEvent.telemetry, (...args: unknown[]) => {
      const [[payload], ack] = split(args);
      const telemetry = parse(TelemetrySchema, DeviceEvent.telemetry, payload, ack);
      if (!telemetry || !device) return;
      if (telemetry.lastUpload && !coordinator.devices.recordUplink(device, telemetry.lastUpload.bytes, telemetry.lastUpload.ms)) {
        refuse(DeviceEvent.telemetry, refusal('bad-value', `lastUpload.bytes ${telemetry.lastUpload.bytes} matches no transfer received from this device`, { field: 'lastUpload.bytes' }), ack);
        return;
      }
      device.telemetry = telemetry;
      ack?.({ ok: true });
      coordinator.notify();
    });

    socket.on(DeviceEvent.probe, (...args: unknown[]) => {
      const [[payload, data], ack] = split(args);
      const probe = parse(ProbeSchema, DeviceEvent.probe, payload, ack);
      if (!probe || !device) return;
      if (!isBinary(data) || toBytes(data).byteLength !== probe.bytes) {
        refuse(DeviceEvent.probe, refusal('schema', `${DeviceEvent.probe}: expected a binary payload of ${probe.bytes} bytes`, { field: 'data' }), ack);
        return;
      }
      device.lastReceivedBytes = probe.bytes;
      ack?.({ ok: true });
    });

    socket.on(DeviceEvent.progress, (...args: unknown[]) => {
      const [[payload], ack] = split(args);
      const progress = parse(ProgressSchema, DeviceEvent.progress, payload, ack);
      if (!progress || !device) return;
      device.progress = progress;
      coordinator.notify();
    });

    socket.on(DeviceEvent.update, (...args: unknown[]) => {
      const [[payload, frame], ack] = split(args);
      const meta = parse(UpdateMetaSchema, DeviceEvent.update, payload, ack);
      if (!meta || !device) return;
      if (!isBinary(frame)) {
        refuse(DeviceEvent.update, refusal('schema', `${DeviceEvent.update}: expected the encoded frame as a binary attachment after the metadata`, { field: 'frame' }), ack);
        return;
      }
      const reply = coordinator.receiveUpdate(device, meta, toBytes(frame));
      if (reply.ok) {
        log.debug({ device: device.id, round: meta.round, bytes: (frame as Uint8Array).byteLength }, 'update accepted');
        ack?.(reply);
      } else {
        refuse(DeviceEvent.update, reply, ack);
      }
    });

    socket.on(DeviceEvent.leave, (...args: unknown[]) => {
      const [[payload], ack] = split(args);
      if (!parse(LeaveSchema, DeviceEvent.leave, payload ?? {}, ack) || !device) return;
      log.info({ device: device.id }, 'device left');
      const gone = coordinator.devices.disconnect(device.id, true);
      if (gone) coordinator.deviceGone(gone);
      ack?.({ ok: true });
      device = null;
      socket.disconnect(true);
    });

    socket.on('disconnect', (reason) => {
      if (!device || device.socketId !== socket.id) return;
      log.info({ device: device.id, reason }, 'device disconnected');
      const gone = coordinator.devices.disconnect(device.id, false);
      if (gone) coordinator.deviceGone(gone);
    });
  });

  return transport;
}
