// The device's link to the aggregator: the Socket.IO connection, join, telemetry, the uplink probe
// and the timed upload. Everything the server sends is checked with the zod schemas in
// packages/core/src/protocol before anyone sees it; a message of the wrong shape becomes a
// ProtocolError for the runtime to show, and is otherwise ignored.
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import {
  ACK_TIMEOUT_MS,
  CancelSchema,
  DeviceEvent,
  ProtocolError,
  RefusalSchema,
  RoundSummarySchema,
  RunBriefSchema,
  ServerEvent,
  SplitBackwardSchema,
  TaskSchema,
  WelcomeSchema,
  parseAck,
  parseServerMessage,
  probeBytes,
  type Ack,
  type Cancel,
  type Hello,
  type Progress,
  type Refusal,
  type SplitBackward,
  type SplitEnd,
  type SplitForward,
  type RoundSummary,
  type RunBrief,
  type Task,
  type Telemetry,
  type Welcome,
} from '@fedbit/core';
import { SecureInbox, listenSecure, type SecureLink } from './secure-round';
import { LEAVE_ACK_TIMEOUT_MS, MIN_TRANSFER_MS, PROBE_REPEATS, PROBE_SIZE_RATIO, RECONNECT_DELAY_MAX_MS, RECONNECT_DELAY_MS, RECONNECT_RANDOMIZATION } from './constants';

export interface ConnectionOptions {
  url: string;
  joinCode: string;
  /** Node simulation only: pace binary uploads at this rate, so the aggregator measures the simulated link. */
  shapeUplinkBps?: number;
  /** Node simulation only: add this to every binary upload, as a phone link's round trip would. */
  shapeLatencyMs?: number;
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
}

export interface ConnectionHandlers {
  connected(): void;
  disconnected(reason: string): void;
  /** A refused handshake (`code` 'bad-join-code') or an unreachable server. */
  connectError(message: string, code?: string): void;
  /** A task; it names the model version to fetch (model-fetch.ts). */
  task(task: Task): void;
  cancel(cancel: Cancel): void;
  summary(summary: RoundSummary): void;
  brief(brief: RunBrief): void;
  refused(refusal: Refusal): void;
  /** The server sent something this device cannot read. */
  protocolError(error: ProtocolError): void;
}

const Empty = z.object({});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Connection {
  private readonly socket: Socket;
  /** Secure aggregation: the steps' messages from the aggregator (secure-round.ts waits on them). */
  readonly secureInbox = new SecureInbox();

  constructor(
    private readonly options: ConnectionOptions,
    handlers: ConnectionHandlers,
  ) {
    const socket = io(options.url, {
      auth: { joinCode: options.joinCode },
      transports: ['websocket'],
      reconnectionDelay: options.reconnectDelayMs ?? RECONNECT_DELAY_MS,
      reconnectionDelayMax: options.reconnectDelayMaxMs ?? RECONNECT_DELAY_MAX_MS,
      randomizationFactor: RECONNECT_RANDOMIZATION,
      autoConnect: false,
    });
    this.socket = socket;
    /** Runs a handler on a checked payload; a payload of the wrong shape goes to protocolError instead. */
    const checked = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        if (error instanceof ProtocolError) handlers.protocolError(error);
        else throw error;
      }
    };
    socket.on('connect', () => handlers.connected());
    socket.on('disconnect', (reason) => handlers.disconnected(String(reason)));
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) => handlers.connectError(error.message, error.data?.code));
    socket.on(ServerEvent.task, (payload: unknown) => checked(() => handlers.task(parseServerMessage(TaskSchema, ServerEvent.task, payload))));
    socket.on(ServerEvent.cancel, (payload: unknown) => checked(() => handlers.cancel(parseServerMessage(CancelSchema, ServerEvent.cancel, payload))));
    socket.on(ServerEvent.summary, (payload: unknown) => checked(() => handlers.summary(parseServerMessage(RoundSummarySchema, ServerEvent.summary, payload))));
    socket.on(ServerEvent.brief, (payload: unknown) => checked(() => handlers.brief(parseServerMessage(RunBriefSchema, ServerEvent.brief, payload))));
    socket.on(ServerEvent.refused, (payload: unknown) => checked(() => handlers.refused(parseServerMessage(RefusalSchema, ServerEvent.refused, payload))));
    listenSecure(socket, this.secureInbox, (error) => handlers.protocolError(error));
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  open(): void {
    this.socket.connect();
  }

  /** Joins; resolves with the welcome, checked. Throws with the aggregator's reason if it refused. */
  async join(hello: Hello): Promise<Welcome> {
    const reply = parseAck(WelcomeSchema, `${DeviceEvent.hello} acknowledgement`, await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(DeviceEvent.hello, hello));
    if (!reply.ok) throw Object.assign(new Error(`the aggregator refused to let this device join: ${reply.reason}`), { code: reply.code });
    const { ok: _, ...welcome } = reply;
    return welcome;
  }

  /**
   * Measures the uplink before the first task: the time on air of the large probe, without the
   * per-message latency (the acknowledgement's round trip, Socket.IO's framing) that is most of a
   * lone 64 KiB upload's time on a fast link and made round 1's modelled energy many times every
   * later round's. Two sizes, each timed PROBE_REPEATS times (fastest kept); the large one goes
   * last, so it is the transfer the aggregator saw last and the telemetry may time.
   */
  async probe(maxUpdateBytes: number): Promise<{ bytes: number; ms: number } | null> {
    const large = probeBytes(maxUpdateBytes);
    const small = Math.floor(large / PROBE_SIZE_RATIO);
    let smallMs: number | null = null;
    if (small >= 1) {
      for (let i = 0; i < PROBE_REPEATS; i++) {
        const ms = await this.probeOnce(small);
        if (ms === null) return null;
        smallMs = Math.min(smallMs ?? ms, ms);
      }
    }
    let largeMs: number | null = null;
    for (let i = 0; i < PROBE_REPEATS; i++) {
      const ms = await this.probeOnce(large);
      if (ms === null) return null;
      largeMs = Math.min(largeMs ?? ms, ms);
    }
    return { bytes: large, ms: smallMs === null ? largeMs! : onAirMs(small, smallMs, large, largeMs!) };
  }

  /** One probe upload of `bytes`; its round trip in ms, or null if refused. */
  private async probeOnce(bytes: number): Promise<number | null> {
    const payload = new Uint8Array(bytes);
    // Not zeros: a link or proxy that compresses would make a run of zeros look fast.
    for (let i = 0; i < bytes; i++) payload[i] = (i * 131 + 7) & 0xff;
    const started = performance.now();
    await this.shape(bytes);
    const reply = parseAck(Empty, `${DeviceEvent.probe} acknowledgement`, await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(DeviceEvent.probe, { bytes }, payload));
    return reply.ok ? performance.now() - started : null;
  }

  /** A secure round's link: each step's message with its acknowledgement (a timeout or a dropped connection reads as a refusal). */
  get secureLink(): SecureLink {
    return {
      inbox: this.secureInbox,
      send: async (event, payload, data) => {
        await this.shape(data?.byteLength ?? 0);
        try {
          const answer = await (data ? this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload, data) : this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload));
          return parseAck(Empty, `${event} acknowledgement`, answer);
        } catch (error) {
          return { ok: false, code: 'late', reason: `no answer from the aggregator: ${(error as Error).message}` };
        }
      },
    };
  }

  telemetry(telemetry: Telemetry): void {
    if (this.socket.connected) this.socket.emit(DeviceEvent.telemetry, telemetry);
  }

  progress(progress: Progress): void {
    this.socket.emit(DeviceEvent.progress, progress);
  }

  /** Sends an update frame; resolves with the aggregator's answer (a timeout reads as a refusal) and the milliseconds it took. */
  async upload(meta: object, frame: Uint8Array, timeoutMs: number): Promise<{ reply: Ack; ms: number }> {
    const sentAt = Date.now();
    await this.shape(frame.byteLength);
    let reply: Ack;
    // A dropped connection ends the wait at once (socket.io would wait out the whole timeout).
    let onDrop: () => void = () => undefined;
    const dropped = new Promise<never>((_, reject) => {
      onDrop = () => reject(new Error('the connection closed before the aggregator answered'));
      this.socket.once('disconnect', onDrop);
    });
    try {
      const answer = await Promise.race([this.socket.timeout(timeoutMs).emitWithAck(DeviceEvent.update, meta, frame), dropped]);
      reply = parseAck(Empty, `${DeviceEvent.update} acknowledgement`, answer);
    } catch (error) {
      reply = { ok: false, code: 'late', reason: `no answer from the aggregator: ${(error as Error).message}` };
    } finally {
      this.socket.off('disconnect', onDrop);
    }
    return { reply, ms: Date.now() - sentAt };
  }

  /**
   * Split learning: one step's activations; resolves with the server's answer and the gradient frame
   * at the cut (a timeout or a dropped connection reads as a refusal).
   */
  async splitForward(meta: SplitForward, frame: Uint8Array, timeoutMs: number): Promise<{ reply: Ack<SplitBackward>; frame: Uint8Array | null }> {
    await this.shape(frame.byteLength);
    const event = DeviceEvent.splitForward;
    return new Promise((resolve) => {
      const onDrop = () => resolve({ reply: { ok: false, code: 'late', reason: 'the connection closed before the aggregator answered' }, frame: null });
      this.socket.once('disconnect', onDrop);
      this.socket.timeout(timeoutMs).emit(event, meta, frame, (error: Error | null, answer: unknown, gradient: unknown) => {
        this.socket.off('disconnect', onDrop);
        if (error) return resolve({ reply: { ok: false, code: 'late', reason: `no answer from the aggregator: ${error.message}` }, frame: null });
        try {
          const reply = parseAck(SplitBackwardSchema, `${event} acknowledgement`, answer);
          if (reply.ok && !(gradient instanceof Uint8Array || gradient instanceof ArrayBuffer)) {
            throw new ProtocolError(event, 'gradient', `the aggregator's ${event} acknowledgement has no gradient frame`);
          }
          const bytes = reply.ok ? new Uint8Array(gradient instanceof ArrayBuffer ? gradient : (gradient as Uint8Array)) : null;
          resolve({ reply, frame: bytes });
        } catch (e) {
          resolve({ reply: { ok: false, code: 'schema', reason: (e as Error).message }, frame: null });
        }
      });
    });
  }

  /** Split learning: the last step of the round is done. */
  async splitEnd(meta: SplitEnd): Promise<Ack> {
    try {
      return parseAck(Empty, `${DeviceEvent.splitEnd} acknowledgement`, await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(DeviceEvent.splitEnd, meta));
    } catch (error) {
      return { ok: false, code: 'late', reason: `no answer from the aggregator: ${(error as Error).message}` };
    }
  }

  /** Tells the aggregator at once that this device leaves, then closes. */
  async leave(): Promise<void> {
    if (this.socket.connected) {
      await this.socket
        .timeout(LEAVE_ACK_TIMEOUT_MS)
        .emitWithAck(DeviceEvent.leave, { reason: 'the person left' })
        .catch(() => undefined);
    }
    this.close();
  }

  close(): void {
    this.socket.disconnect();
  }

  /** In Node simulation, waits as long as the simulated link would take to send `bytes`. */
  private async shape(bytes: number): Promise<void> {
    const rate = this.options.shapeUplinkBps;
    const ms = (this.options.shapeLatencyMs ?? 0) + (rate ? ((bytes * 8) / rate) * 1000 : 0);
    if (ms > 0) await sleep(ms);
  }
}

/**
 * The time on air of `largeBytes` from two timed uploads of different sizes: the slope removes what
 * both pay alike (latency). Never more than the large upload's own time (jitter can make the slope
 * steeper than the link), never below MIN_TRANSFER_MS (a slope of zero or less: the link is
 * faster than the timing can tell).
 */
export function onAirMs(smallBytes: number, smallMs: number, largeBytes: number, largeMs: number): number {
  if (!(largeBytes > smallBytes && smallBytes > 0)) throw new RangeError(`onAirMs: expected 0 < smallBytes < largeBytes, got ${smallBytes} and ${largeBytes}`);
  const slope = ((largeMs - smallMs) * largeBytes) / (largeBytes - smallBytes);
  return Math.min(largeMs, Math.max(MIN_TRANSFER_MS, slope));
}
