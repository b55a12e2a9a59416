// The Socket.IO face of the aggregator. Every event is checked here before the engine sees it: who
// may connect and what a connection may send before it joins (admission.ts), the join code at the
// handshake (with a limit on wrong guesses per address), one hello per connection, a schema per
// event, binary payloads by type and size, and a token bucket per connection against floods. A refusal goes back to the sender with a code and a reason
// (as the acknowledgement, or as a device:refused event) and changes nothing. Then one call into
// the engine's device API (round/device-api.ts); this file holds no run state of its own.
import type { Server, Socket } from 'socket.io';
import type { Logger } from 'pino';
import {
  DEVICE_EVENTS,
  DeviceEvent,
  HelloSchema,
  LeaveSchema,
  ProbeSchema,
  ProgressSchema,
  SecAggAdvertiseSchema,
  SecAggMaskedSchema,
  SecAggRevealSchema,
  SecAggShareSchema,
  ServerEvent,
  SplitEndSchema,
  SplitForwardSchema,
  TelemetrySchema,
  UpdateMetaSchema,
  describeZodError,
  deviceSummary,
  type Ack,
  type Hello,
  type Progress,
  type Refusal,
  type SecAggAdvertise,
  type SecAggReveal,
  type SecAggShare,
  type SplitEnd,
  type SplitForward,
  type Telemetry,
  type UpdateMeta,
  type Welcome,
} from '@fedbit/core';
import type { ZodType } from 'zod';
import { DEFAULT_RATE_LIMIT, STATUS_DEBOUNCE_MS, SUMMARY_SLICE, briefIntervalMs } from '../constants';
import type { ServerMetrics } from '../metrics';
import type { Coordinator } from '../round/coordinator';
import type { SplitReply } from '../split/split-server';
import { refusal } from '../round/open-round';
import { briefOf, statusOf, type RunStatus } from '../status';
import { normalizeAddress, type Admission } from './admission';
import { TokenBucket, secretEquals } from './rate-guard';
import type { Transport } from './transport';

/**
 * The outgoing half: what the engine sends to devices. `devicesHere`: a node of a cluster sends each
 * device its part of a round summary only on this node (every node does so for its own devices, so
 * a commit is not ten thousand messages through Redis).
 */
export function socketTransport(io: Server, options: { devicesHere?: boolean } = {}): Transport {
  return {
    sendTask(device, task) {
      if (device.socketId) io.to(device.socketId).emit(ServerEvent.task, task);
    },
    cancel(device, round, reason) {
      if (device.socketId) io.to(device.socketId).emit(ServerEvent.cancel, { round, reason });
    },
    broadcastSummary(summary, devices) {
      io.of('/watch').emit(ServerEvent.summary, summary);
      const to = options.devicesHere ? io.local : io;
      // SUMMARY_SLICE devices per turn of the event loop; each is reached on the connection it is on when its turn comes.
      const send = (from: number) => {
        const end = Math.min(devices.length, from + SUMMARY_SLICE);
        for (let i = from; i < end; i++) {
          const device = devices[i];
          if (device.socketId) to.to(device.socketId).emit(ServerEvent.summary, deviceSummary(summary, device.id));
        }
        if (end < devices.length) setImmediate(send, end);
      };
      send(0);
    },
    secagg(device, event, payload, data) {
      if (!device.socketId) return;
      const name = event === 'roster' ? ServerEvent.secaggRoster : event === 'shares' ? ServerEvent.secaggShares : ServerEvent.secaggUnmask;
      if (data) io.to(device.socketId).emit(name, payload, data);
      else io.to(device.socketId).emit(name, payload);
    },
    disconnect(connectionId) {
      // Through the adapter: in a cluster the connection may be on another node.
      io.in(connectionId).disconnectSockets(true);
    },
  };
}

type MaybePromise<T> = T | Promise<T>;

/**
 * What a checked device event becomes: the engine's device API (round/device-api.ts), or, on a node
 * of a cluster, the port that forwards it to the leader (cluster/device-port.ts). D is how the port
 * names a joined device.
 */
export interface DevicePort<D extends { id: string }> {
  /** A refusal when the device cannot join now (a cluster with no leader for the moment). */
  join(hello: Hello, connectionId: string): MaybePromise<{ device: D; welcome: Welcome; claimRefused: boolean } | Refusal>;
  telemetry(device: D, telemetry: Telemetry): MaybePromise<Refusal | null>;
  probe(device: D, bytes: number): void;
  progress(device: D, progress: Progress): void;
  update(device: D, meta: UpdateMeta, frame: Uint8Array): MaybePromise<Ack>;
  splitForward(device: D, meta: SplitForward, frame: Uint8Array): Promise<SplitReply>;
  splitEnd(device: D, meta: SplitEnd): Promise<Ack>;
  secureAdvertise(device: D, message: SecAggAdvertise): Promise<Refusal | null>;
  secureShare(device: D, message: SecAggShare, data: Uint8Array): Refusal | null;
  secureMasked(device: D, round: number, data: Uint8Array): Refusal | null;
  secureReveal(device: D, message: SecAggReveal): Refusal | null;
  /** The device left, or (with connectionId) that connection closed: ignored when the device has moved to another connection since. */
  gone(device: D, left: boolean, connectionId?: string): void;
}

export interface SocketOptions<D extends { id: string }> {
  /** Read for the status feed only (onChange, statusOf, briefOf). */
  coordinator: Coordinator;
  /** The engine's device API (or a cluster node's port to it): every checked event becomes one call here. */
  devices: DevicePort<D>;
  joinCode: string;
  log: Logger;
  metrics: ServerMetrics;
  /** Connection limits, already installed on the Engine.IO server (allowRequest); here it learns who joined and counts wrong codes. */
  admission: Admission;
  /** Whether this process pushes the run's status to the dashboard and the devices (in a cluster, only the leader does). Default always. */
  broadcastsStatus?: () => boolean;
  /** The run's status as this process shows it (a cluster node: the cluster's view); default statusOf(coordinator). */
  status?: () => Promise<RunStatus>;
  /** Events per second per connection, and the burst allowed. */
  rateLimit?: { perSecond: number; burst: number; disconnectAfterStrikes: number };
}

type AckFn = (reply: unknown, attachment?: Uint8Array) => void;

function isBinary(value: unknown): value is Uint8Array | ArrayBuffer {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

function toBytes(value: Uint8Array | ArrayBuffer): Uint8Array {
  // A private, aligned copy: socket.io may hand a slice of a pooled buffer.
  const view = value instanceof ArrayBuffer ? new Uint8Array(value) : value;
  return new Uint8Array(view);
}

/** The acknowledgement callback is always the last argument, however many the sender gave. */
function splitAck(args: unknown[]): [unknown[], AckFn | undefined] {
  const last = args[args.length - 1];
  return typeof last === 'function' ? [args.slice(0, -1), last as AckFn] : [args, undefined];
}

/** The incoming half: device events checked and handed to the engine; status pushed to the dashboard and the devices. */
export function attachSockets<D extends { id: string }>(io: Server, options: SocketOptions<D>): void {
  const { coordinator, devices: api, joinCode, log, metrics, admission } = options;
  const limit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const watch = io.of('/watch');

  io.use((socket, next) => {
    const address = normalizeAddress(socket.handshake.address);
    const fail = (code: 'bad-join-code' | 'rate-limited', message: string) => {
      metrics.refused(code);
      const error = new Error(message) as Error & { data?: unknown };
      error.data = { code };
      next(error);
    };
    const waitMs = admission.failedJoins.blockedFor(address);
    if (waitMs > 0) {
      return fail('rate-limited', `too many wrong join codes from this address; try again in ${Math.ceil(waitMs / 1000)} s with the code from the join URL`);
    }
    // Case-insensitive: a student types what the teacher reads out.
    const given = socket.handshake.auth?.joinCode;
    if (!secretEquals(joinCode.toLowerCase(), typeof given === 'string' ? given.trim().toLowerCase() : given)) {
      admission.failedJoins.fail(address);
      log.warn({ address }, 'wrong join code');
      return fail('bad-join-code', 'join code missing or wrong: open the join URL the aggregator printed (it carries the code)');
    }
    next();
  });

  // One process: its own status, at once. A cluster node: the cluster's view (cluster/status.ts), or its own if that fails.
  const clusterStatus = options.status;
  const sendStatus = (to: { emit(event: string, status: RunStatus): unknown }) => {
    if (!clusterStatus) return void to.emit(ServerEvent.status, statusOf(coordinator));
    void clusterStatus()
      .catch((error: unknown) => {
        log.warn({ err: (error as Error).message }, 'cluster status unavailable: this node\'s own view is shown');
        return statusOf(coordinator);
      })
      .then((status) => to.emit(ServerEvent.status, status));
  };
  // The dashboards' status (the device list is bounded: status.ts) and the devices' brief, each
  // coalesced; the brief's window grows with the room, and an unchanged brief is not sent again.
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  let briefTimer: ReturnType<typeof setTimeout> | null = null;
  let lastBrief: string | null = null;
  coordinator.onChange(() => {
    if (options.broadcastsStatus && !options.broadcastsStatus()) {
      lastBrief = null;
      return;
    }
    statusTimer ??= setTimeout(() => {
      statusTimer = null;
      sendStatus(watch);
    }, STATUS_DEBOUNCE_MS);
    briefTimer ??= setTimeout(() => {
      briefTimer = null;
      const brief = briefOf(coordinator);
      const text = JSON.stringify(brief);
      if (text === lastBrief) return;
      lastBrief = text;
      io.emit(ServerEvent.brief, brief);
    }, briefIntervalMs(coordinator.devices.connectedCount));
  });
  watch.on('connection', (socket) => sendStatus(socket));

  io.on('connection', (socket: Socket) => {
    const bucket = new TokenBucket(limit.perSecond, limit.burst);
    let device: D | null = null;
    let joining = false;

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

    /**
     * Registers a device event's handler. One that throws (a bug, or a state no check foresaw) is
     * logged and answered 'internal'; the process, the round and the other devices go on.
     */
    const on = (event: string, handler: (...args: unknown[]) => void | Promise<void>) =>
      socket.on(event, (...args: unknown[]) => {
        const failed = (error: unknown) => {
          log.error({ err: error, socket: socket.id, device: device?.id, event }, 'a device event handler failed');
          refuse(event, refusal('internal', `the aggregator could not handle this ${event}: ${(error as Error).message}`), splitAck(args)[1]);
        };
        try {
          handler(...args)?.catch(failed);
        } catch (error) {
          failed(error);
        }
      });

    /** Validates a payload against its schema; on failure refuses and returns null. */
    function parse<T>(schema: ZodType<T>, event: string, payload: unknown, ack?: AckFn): T | null {
      const result = schema.safeParse(payload);
      if (result.success) return result.data;
      const { field, reason } = describeZodError(result.error);
      refuse(event, refusal('schema', `${event}: ${reason}`, { field }), ack);
      return null;
    }

    on(DeviceEvent.hello, async (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      if (device || joining) {
        refuse(DeviceEvent.hello, refusal('already-joined', `this connection has joined already${device ? `, as device ${device.id}` : ''}; a second device needs its own connection`), ack);
        return;
      }
      const hello = parse(HelloSchema, DeviceEvent.hello, payload, ack);
      if (!hello) return;
      joining = true;
      let joined;
      try {
        joined = await api.join(hello, socket.id);
      } finally {
        joining = false;
      }
      if ('code' in joined) return refuse(DeviceEvent.hello, joined, ack);
      if (!socket.connected) return api.gone(joined.device, false, socket.id);
      device = joined.device;
      admission.markJoined(socket);
      if (joined.claimRefused) log.warn({ socket: socket.id, claimed: hello.deviceId, given: device.id }, 'hello named a known device id without its resume token: joined as a new device');
      ack?.({ ok: true, ...joined.welcome } satisfies Ack<Welcome>);
      socket.emit(ServerEvent.brief, briefOf(coordinator));
    });

    on(DeviceEvent.telemetry, async (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      const telemetry = parse(TelemetrySchema, DeviceEvent.telemetry, payload, ack);
      if (!telemetry || !device) return;
      const refused = await api.telemetry(device, telemetry);
      if (refused) refuse(DeviceEvent.telemetry, refused, ack);
      else ack?.({ ok: true });
    });

    on(DeviceEvent.probe, (...args: unknown[]) => {
      const [[payload, data], ack] = splitAck(args);
      const probe = parse(ProbeSchema, DeviceEvent.probe, payload, ack);
      if (!probe || !device) return;
      if (!isBinary(data) || toBytes(data).byteLength !== probe.bytes) {
        refuse(DeviceEvent.probe, refusal('schema', `${DeviceEvent.probe}: expected a binary payload of ${probe.bytes} bytes`, { field: 'data' }), ack);
        return;
      }
      api.probe(device, probe.bytes);
      ack?.({ ok: true });
    });

    on(DeviceEvent.progress, (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      const progress = parse(ProgressSchema, DeviceEvent.progress, payload, ack);
      if (progress && device) api.progress(device, progress);
    });

    on(DeviceEvent.update, async (...args: unknown[]) => {
      const [[payload, frame], ack] = splitAck(args);
      const meta = parse(UpdateMetaSchema, DeviceEvent.update, payload, ack);
      if (!meta || !device) return;
      if (!isBinary(frame)) {
        refuse(DeviceEvent.update, refusal('schema', `${DeviceEvent.update}: expected the encoded frame as a binary attachment after the metadata`, { field: 'frame' }), ack);
        return;
      }
      const bytes = toBytes(frame);
      const from = device;
      const reply = await api.update(device, meta, bytes);
      if (!reply.ok) return refuse(DeviceEvent.update, reply, ack);
      log.debug({ device: from.id, round: meta.round, bytes: bytes.byteLength }, 'update accepted');
      ack?.(reply);
    });

    on(DeviceEvent.splitForward, (...args: unknown[]) => {
      const [[payload, frame], ack] = splitAck(args);
      const meta = parse(SplitForwardSchema, DeviceEvent.splitForward, payload, ack);
      if (!meta || !device) return;
      if (!isBinary(frame)) {
        refuse(DeviceEvent.splitForward, refusal('schema', `${DeviceEvent.splitForward}: expected the activation frame as a binary attachment after the metadata`, { field: 'frame' }), ack);
        return;
      }
      const from = device;
      api.splitForward(from, meta, toBytes(frame)).then(
        (reply) => {
          if (!reply.ack.ok) return refuse(DeviceEvent.splitForward, reply.ack, ack);
          ack?.(reply.ack, reply.frame);
        },
        (error: unknown) => {
          log.error({ device: from.id, err: (error as Error).message }, 'split step failed');
          refuse(DeviceEvent.splitForward, refusal('bad-value', `${DeviceEvent.splitForward}: the server could not run this step`, { round: meta.round }), ack);
        },
      );
    });

    on(DeviceEvent.splitEnd, (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      const meta = parse(SplitEndSchema, DeviceEvent.splitEnd, payload, ack);
      if (!meta || !device) return;
      api.splitEnd(device, meta).then(
        (reply) => (reply.ok ? ack?.(reply) : refuse(DeviceEvent.splitEnd, reply, ack)),
        () => refuse(DeviceEvent.splitEnd, refusal('bad-value', `${DeviceEvent.splitEnd}: the server could not keep this step`, { round: meta.round }), ack),
      );
    });

    // Secure aggregation's four steps (round/secure-steps.ts checks each against the open step).
    /** Answers a step's message: ok, or the refusal. */
    const answer = (event: string, refused: Refusal | null, ack?: AckFn) => (refused ? refuse(event, refused, ack) : ack?.({ ok: true }));
    /** The binary attachment a step needs, or a refusal naming it. */
    const attachment = (event: string, data: unknown, what: string, ack?: AckFn): Uint8Array | null => {
      if (isBinary(data)) return toBytes(data);
      refuse(event, refusal('schema', `${event}: expected ${what} as a binary attachment after the payload`, { field: 'data' }), ack);
      return null;
    };

    on(DeviceEvent.secaggAdvertise, (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      const message = parse(SecAggAdvertiseSchema, DeviceEvent.secaggAdvertise, payload, ack);
      if (message && device) void api.secureAdvertise(device, message).then((refused) => answer(DeviceEvent.secaggAdvertise, refused, ack));
    });

    on(DeviceEvent.secaggShare, (...args: unknown[]) => {
      const [[payload, data], ack] = splitAck(args);
      const message = parse(SecAggShareSchema, DeviceEvent.secaggShare, payload, ack);
      if (!message || !device) return;
      const bytes = attachment(DeviceEvent.secaggShare, data, 'the sealed share bundles', ack);
      if (bytes) answer(DeviceEvent.secaggShare, api.secureShare(device, message, bytes), ack);
    });

    on(DeviceEvent.secaggMasked, (...args: unknown[]) => {
      const [[payload, data], ack] = splitAck(args);
      const message = parse(SecAggMaskedSchema, DeviceEvent.secaggMasked, payload, ack);
      if (!message || !device) return;
      const bytes = attachment(DeviceEvent.secaggMasked, data, 'the masked vector', ack);
      if (bytes) answer(DeviceEvent.secaggMasked, api.secureMasked(device, message.round, bytes), ack);
    });

    on(DeviceEvent.secaggReveal, (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      const message = parse(SecAggRevealSchema, DeviceEvent.secaggReveal, payload, ack);
      if (message && device) answer(DeviceEvent.secaggReveal, api.secureReveal(device, message), ack);
    });

    on(DeviceEvent.leave, (...args: unknown[]) => {
      const [[payload], ack] = splitAck(args);
      if (!parse(LeaveSchema, DeviceEvent.leave, payload ?? {}, ack) || !device) return;
      api.gone(device, true);
      ack?.({ ok: true });
      device = null;
      socket.disconnect(true);
    });

    socket.on('disconnect', () => {
      if (device) api.gone(device, false, socket.id);
    });
  });
}
