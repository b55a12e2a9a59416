// The device's side of a securely aggregated round (SecAgg+, Bell et al., CCS 2020, arXiv
// 2005.11348, on Bonawitz et al., CCS 2017; the cryptography is packages/secagg's, WebCrypto only,
// so the same code runs in Node and in a tab's worker). After training, with the update already on
// the round's grid (core/quant/grid.ts):
//   advertise -> roster (check it) -> share (sealed bundles) -> shares + who shared -> mask -> senders -> reveal
// The device checks what the aggregator tells it against what it can compute itself (the graph, the
// modulus, its neighbors) and never reveals both kinds of share for one neighbor. No socket here:
// a SecureLink sends, a SecureInbox holds what arrives (connection.ts fills it).
import {
  ProtocolError,
  SecAggRosterSchema,
  SecAggSharesSchema,
  SecAggUnmaskSchema,
  DeviceEvent,
  ServerEvent,
  parseServerMessage,
  type Ack,
  type SecAggAdvertise,
  type SecAggRoster,
  type SecAggShares,
  type SecAggUnmask,
} from '@fedbit/core';
import { SEALED_BYTES, SecAggDevice, bigIntToBytes, fromBase64url, generateKeyPair, packMasked, setupRound, toBase64url, SHARE_BYTES, type Advert } from '@fedbit/secagg';

type Kind = 'roster' | 'shares' | 'unmask';
interface Arrived {
  payload: unknown;
  data?: Uint8Array;
}

/** What the aggregator sent for a secure round's steps, held until the round's driver asks for it. */
export class SecureInbox {
  private readonly box = new Map<string, Arrived>();
  private readonly waiters = new Map<string, { resolve: (a: Arrived) => void; reject: (e: Error) => void }>();
  /** Rounds cancelled, with the reason: a wait that starts after the cancel arrived ends at once (the cancel can overtake the step's acknowledgement). */
  private readonly cancelled = new Map<number, string>();

  deliver(kind: Kind, round: number, arrived: Arrived): void {
    if (this.cancelled.has(round)) return;
    const key = `${kind}:${round}`;
    const waiter = this.waiters.get(key);
    if (waiter) {
      this.waiters.delete(key);
      waiter.resolve(arrived);
    } else this.box.set(key, arrived);
  }

  /** The round was cancelled or abandoned: its waits end with the reason. */
  cancel(round: number, reason: string): void {
    this.cancelled.set(round, reason);
    // Keep the last few only: a round number comes back after an abandoned round, so the record must not outlive the next task.
    for (const old of this.cancelled.keys()) if (this.cancelled.size > 8) this.cancelled.delete(old);
    for (const [key, waiter] of this.waiters) {
      if (key.endsWith(`:${round}`)) {
        this.waiters.delete(key);
        waiter.reject(new Error(reason));
      }
    }
    for (const key of this.box.keys()) if (key.endsWith(`:${round}`)) this.box.delete(key);
  }

  /** A new task for `round` (an abandoned round runs again under the same number): its earlier cancel no longer applies. */
  begin(round: number): void {
    this.cancelled.delete(round);
  }

  wait(kind: Kind, round: number, timeoutMs: number): Promise<Arrived> {
    const cancelled = this.cancelled.get(round);
    if (cancelled !== undefined) return Promise.reject(new Error(cancelled));
    const key = `${kind}:${round}`;
    const held = this.box.get(key);
    if (held) {
      this.box.delete(key);
      return Promise.resolve(held);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`no secagg ${kind} for round ${round} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiters.set(key, {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
}

/** Anything with Socket.IO's `on` (a socket.io-client Socket). */
interface Listener {
  on(event: string, handler: (...args: unknown[]) => void): unknown;
}

const toBytes = (value: unknown): Uint8Array | undefined =>
  value instanceof Uint8Array ? new Uint8Array(value) : value instanceof ArrayBuffer ? new Uint8Array(value.slice(0)) : undefined;

/** Routes the aggregator's three secagg messages, checked with their schemas, into `inbox`; a malformed one goes to `onError`. */
export function listenSecure(socket: Listener, inbox: SecureInbox, onError: (error: ProtocolError) => void): void {
  const route = <T extends { round: number }>(kind: Kind, event: string, schema: Parameters<typeof parseServerMessage<T>>[0]) =>
    socket.on(event, (payload: unknown, data?: unknown) => {
      try {
        const message = parseServerMessage(schema, event, payload);
        inbox.deliver(kind, message.round, { payload: message, data: toBytes(data) });
      } catch (error) {
        if (error instanceof ProtocolError) onError(error);
        else throw error;
      }
    });
  route<SecAggRoster>('roster', ServerEvent.secaggRoster, SecAggRosterSchema);
  route<SecAggShares>('shares', ServerEvent.secaggShares, SecAggSharesSchema);
  route<SecAggUnmask>('unmask', ServerEvent.secaggUnmask, SecAggUnmaskSchema);
}

/** How the driver talks to the aggregator: a step's message with its acknowledgement, and what came back. */
export interface SecureLink {
  send(event: string, payload: object, data?: Uint8Array): Promise<Ack>;
  inbox: SecureInbox;
}

export type SecureStepName = 'advertise' | 'share' | 'mask' | 'reveal';

export interface SecureRoundInput {
  round: number;
  /** The update on the round's grid: integers below 2^gridBits (or, with privacy, noisy residues below 2^modulusBits). */
  input: Uint32Array;
  gridBits: number;
  /** Differential privacy (the task's dp): the mask modulus, and the fewest senders this device's noise was planned for; it reveals nothing when fewer sent. */
  dp?: { modulusBits: number; minSenders: number };
  /** What the round's records need (no update statistics). */
  record: Pick<SecAggAdvertise, 'samples' | 'steps' | 'trainMs' | 'loss'>;
  /** How long to wait for each of the aggregator's messages. */
  stepTimeoutMs: number;
  /** Called after each step is acknowledged; returning false stops the device there (tests of dropout; the runtime never does). */
  after?: (step: SecureStepName) => boolean | void;
}

export interface SecureRoundResult {
  /** Every byte this device sent in the four steps (payloads as JSON text, attachments). */
  bytes: number;
  /** How far it got. */
  completed: SecureStepName;
  /** The masked vector exactly as sent (what the aggregator holds of this device). */
  masked: Uint8Array | null;
}

/** The round's setup as this device computes it: on the grid, or (privacy) on residues modulo the task's modulus. */
const setupOf = (roster: SecAggRoster, input: SecureRoundInput) =>
  input.dp ? setupRound(roster.round, roster.n, roster.length, input.dp.modulusBits, roster.graphSeed, undefined, input.dp.modulusBits) : setupRound(roster.round, roster.n, roster.length, input.gridBits, roster.graphSeed);

function checkRoster(roster: SecAggRoster, input: SecureRoundInput): void {
  const setup = setupOf(roster, input);
  const problems: string[] = [];
  if (roster.length !== input.input.length) problems.push(`length ${roster.length}, this update has ${input.input.length}`);
  if (roster.modulusBits !== setup.modulusBits) problems.push(`modulusBits ${roster.modulusBits}, ${input.dp ? `${setup.modulusBits} in the task` : `${setup.modulusBits} for ${roster.n} devices at ${input.gridBits} bits`}`);
  if (roster.degree !== setup.degree) problems.push(`degree ${roster.degree}, the graph has ${setup.degree}`);
  if (!(roster.threshold >= 2 && roster.threshold <= roster.degree)) problems.push(`threshold ${roster.threshold} outside 2..${roster.degree}`);
  if (roster.index >= roster.n) problems.push(`index ${roster.index} outside the roster of ${roster.n}`);
  const mine = [...(setup.neighbors[roster.index] ?? [])].sort((a, b) => a - b).join(',');
  const given = roster.neighbors.map((n) => n.index).sort((a, b) => a - b).join(',');
  if (mine !== given) problems.push(`neighbors [${given}], the graph says [${mine}]`);
  if (problems.length) throw new Error(`the aggregator's roster for round ${roster.round} is not consistent: ${problems.join('; ')}`);
}

async function sent(link: SecureLink, event: string, payload: object, data?: Uint8Array): Promise<number> {
  const reply = await link.send(event, payload, data);
  if (!reply.ok) throw new Error(`the aggregator refused ${event}: ${reply.reason} (${reply.code})`);
  return new TextEncoder().encode(JSON.stringify(payload)).byteLength + (data?.byteLength ?? 0);
}

/** The device's four steps of one secure round. Throws with the reason when the round cannot go on for this device. */
export async function runSecureRound(link: SecureLink, input: SecureRoundInput): Promise<SecureRoundResult> {
  const { round, stepTimeoutMs } = input;
  const stop = (step: SecureStepName) => input.after?.(step) === false;
  const result: SecureRoundResult = { bytes: 0, completed: 'advertise', masked: null };
  if (!globalThis.crypto?.subtle) {
    throw new Error('secure aggregation needs WebCrypto (crypto.subtle), which a browser gives only in a secure context: open the join URL over https (serve --tls) or on localhost');
  }

  link.inbox.begin(round);
  // ---- 1. advertise keys ----
  const [c, s] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  result.bytes += await sent(link, DeviceEvent.secaggAdvertise, { round, cPublic: toBase64url(c.publicRaw), sPublic: toBase64url(s.publicRaw), ...input.record });
  if (stop('advertise')) return result;

  // ---- 2. share keys with the neighbors the roster names ----
  const roster = (await link.inbox.wait('roster', round, stepTimeoutMs)).payload as SecAggRoster;
  checkRoster(roster, input);
  const setup = { ...setupOf(roster, input), threshold: roster.threshold };
  const device = new SecAggDevice(setup, roster.index, { c, s });
  const adverts: Advert[] = roster.neighbors.map((n) => ({ index: n.index, cPublic: fromBase64url(n.cPublic), sPublic: fromBase64url(n.sPublic) }));
  const bundles = await device.share(adverts);
  const sealed = new Uint8Array(bundles.length * SEALED_BYTES);
  bundles.forEach((b, k) => sealed.set(b.sealed, k * SEALED_BYTES));
  result.bytes += await sent(link, DeviceEvent.secaggShare, { round, to: bundles.map((b) => b.to) }, sealed);
  result.completed = 'share';
  if (stop('share')) return result;

  // ---- 3. the masked input, with pair masks only toward those who shared ----
  const shares = await link.inbox.wait('shares', round, stepTimeoutMs);
  const routed = shares.payload as SecAggShares;
  const data = shares.data ?? new Uint8Array(0);
  if (data.byteLength !== routed.from.length * SEALED_BYTES) throw new Error(`secagg:shares for round ${round}: ${data.byteLength} bytes for ${routed.from.length} bundles of ${SEALED_BYTES}`);
  if (!routed.active.includes(roster.index)) throw new Error(`secagg:shares for round ${round} does not count this device among those who shared`);
  const active = new Set(routed.active);
  const live = setup.neighbors[roster.index].filter((j) => active.has(j));
  if (live.length < setup.threshold) throw new Error(`only ${live.length} of this device's neighbors shared keys; the threshold is ${setup.threshold}`);
  // A bundle that does not open (a neighbor sent garbage) is left out, not fatal: this device then holds no share of that neighbor.
  for (const [k, from] of routed.from.entries()) {
    await device.receive([{ from, to: roster.index, sealed: data.subarray(k * SEALED_BYTES, (k + 1) * SEALED_BYTES) }]).catch(() => undefined);
  }
  const masked = packMasked(await device.mask(input.input, active), setup.modulusBits);
  result.bytes += await sent(link, DeviceEvent.secaggMasked, { round }, masked);
  result.masked = masked;
  result.completed = 'mask';
  if (stop('mask')) return result;

  // ---- 4. unmask: per neighbor held, b if it sent its masked input, s if not (never both) ----
  const { senders } = (await link.inbox.wait('unmask', round, stepTimeoutMs)).payload as SecAggUnmask;
  const stray = senders.find((i) => !active.has(i));
  if (stray !== undefined) throw new Error(`secagg:unmask for round ${round} names device ${stray} as a sender, which did not share keys`);
  if (!senders.includes(roster.index)) throw new Error(`secagg:unmask for round ${round} does not name this device as a sender`);
  // Bonawitz et al.: with fewer senders than the threshold, the shares revealed could help unmask too few inputs to hide one.
  if (senders.length < setup.threshold) throw new Error(`only ${senders.length} devices sent masked inputs; the threshold is ${setup.threshold}, so this device does not reveal`);
  // Kairouz et al.: each device added 1/minSenders of the noise; a sum of fewer would carry less than the run promised.
  if (input.dp && senders.length < input.dp.minSenders) throw new Error(`only ${senders.length} devices sent masked inputs; this device's privacy noise was planned for at least ${input.dp.minSenders}, so it does not reveal`);
  const revealed = device.unmask(new Set(senders)).map((r) => ({ of: r.of, kind: r.kind, y: toBase64url(bigIntToBytes(r.share.y, SHARE_BYTES)) }));
  result.bytes += await sent(link, DeviceEvent.secaggReveal, { round, shares: revealed });
  result.completed = 'reveal';
  input.after?.('reveal');
  return result;
}
