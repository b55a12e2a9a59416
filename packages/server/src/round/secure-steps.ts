// The aggregator's side of one securely aggregated round after training (SecAgg+, Bell et al., CCS
// 2020, arXiv 2005.11348, on Bonawitz et al., CCS 2017; the cryptography is packages/secagg's):
//   advertise  during training: each device that finished sends its two public keys
//   share      the roster goes out; each device sends its sealed share bundles, the server routes them
//   mask       each device that shared sends its masked vector, added to the running sum at once
//   unmask     the senders are named; each reveals, per neighbor, the share of its self-mask seed or of its key
// Every message is checked before it touches anything (its step, its round, the device's place in
// the roster, sizes, that each share is owed); a refusal changes nothing. Each step ends when every
// device still expected has answered, or at its deadline: those that did not count as dropped.
import type { Refusal, SecAggAdvertise, SecAggReveal, SecAggShare } from '@fedbit/core';
import { SEALED_BYTES, SecAggServer, bytesToBigInt, fromBase64url, setupRound, unpackMasked, type Advert, type Revealed, type RoundSetup } from '@fedbit/secagg';
import type { Device } from '../devices/registry';
import { refusal, type OpenRound } from './open-round';

export type SecureStep = 'train' | 'share' | 'mask' | 'unmask' | 'closed';

/** What the steps send; the transport's secagg() in a live run. */
export type SecureSend = (device: Device, event: 'roster' | 'shares' | 'unmask', payload: object, data?: Uint8Array) => void;

export interface Member {
  device: Device;
  index: number;
  advert: Advert;
  meta: SecAggAdvertise;
  /** Everything this device sent in the four steps (payloads as JSON text, attachments as bytes). */
  bytes: number;
}

interface StepOptions {
  round: number;
  length: number;
  /** The grid's precision B: inputs are below 2^B. */
  bits: number;
  /** Differential privacy: the inputs are noisy residues modulo 2^modulusBits (core/privacy/ddg.ts), not grid levels. */
  modulusBits?: number;
  thresholdRatio: number;
  graphSeed: number;
  stepDeadlineMs: number;
  send: SecureSend;
}

const P = (1n << 521n) - 1n;

async function isP256Point(raw: Uint8Array): Promise<boolean> {
  try {
    await globalThis.crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    return true;
  } catch {
    return false;
  }
}
const jsonBytes = (payload: unknown) => new TextEncoder().encode(JSON.stringify(payload)).byteLength;

export class SecureSteps {
  step: SecureStep = 'train';
  setup: RoundSetup | null = null;
  /** The roster by index, in the order of the devices' seats. */
  members: Member[] = [];
  /** Who shared keys (step 2): only they are masked with. */
  readonly active = new Set<number>();
  private readonly advertised = new Map<string, { device: Device; advert: Omit<Advert, 'index'>; meta: SecAggAdvertise; bytes: number }>();
  private readonly byDevice = new Map<string, Member>();
  private readonly bundles = new Map<number, { to: number[]; data: Uint8Array }>();
  private server: SecAggServer | null = null;
  private readonly revealed: Revealed[] = [];
  private readonly revealedBy = new Set<number>();
  private expected = new Set<number>();
  private endStep: (() => void) | null = null;

  constructor(
    private readonly open: OpenRound,
    private readonly options: StepOptions,
  ) {}

  get round(): number {
    return this.options.round;
  }

  get senders(): ReadonlySet<number> {
    return this.server?.senders ?? new Set();
  }

  // ---- what devices send ----

  /** Checks run again after the keys are checked (an await): the step may have moved on meanwhile. */
  async advertise(device: Device, message: SecAggAdvertise): Promise<Refusal | null> {
    const early = this.advertiseProblem(device, message);
    if (early) return early;
    const cPublic = fromBase64url(message.cPublic);
    const sPublic = fromBase64url(message.sPublic);
    // A point off the curve would make every neighbor's key agreement fail: one device could stop the round.
    for (const [field, key] of [['cPublic', cPublic], ['sPublic', sPublic]] as const) {
      if (!(await isP256Point(key))) return refusal('bad-value', `${field} is not a point on P-256; expected an uncompressed public key (65 bytes, first byte 4)`, { field, round: message.round });
    }
    const late = this.advertiseProblem(device, message);
    if (late) return late;
    this.advertised.set(device.id, { device, advert: { cPublic, sPublic }, meta: message, bytes: jsonBytes(message) });
    this.open.slots.get(device.id)!.status = 'accepted';
    return null;
  }

  private advertiseProblem(device: Device, message: SecAggAdvertise): Refusal | null {
    const at = { round: message.round };
    if (message.round !== this.round) return refusal('stale-round', `round ${message.round} is not open; the open round is ${this.round}`, at);
    if (this.step !== 'train' || this.open.closed) return refusal('wrong-step', `round ${this.round} is past advertising keys (now: ${this.step}); keys come right after training`, at);
    const slot = this.open.slots.get(device.id);
    if (!slot) return refusal('not-selected', `this device was not selected for round ${this.round}`, at);
    if (this.advertised.has(device.id)) return refusal('duplicate', `this device already advertised its keys for round ${this.round}`, at);
    if (message.steps > slot.work.steps) return refusal('bad-value', `advertise says ${message.steps} local steps; this task asked for at most ${slot.work.steps}`, { field: 'steps', ...at });
    return null;
  }

  share(device: Device, message: SecAggShare, data: Uint8Array): Refusal | null {
    const at = { round: message.round };
    const member = this.memberOf(device, message.round, 'share');
    if ('ok' in member) return member;
    if (this.bundles.has(member.index)) return refusal('duplicate', `this device already shared its keys for round ${this.round}`, at);
    const neighbors = this.setup!.neighbors[member.index];
    const stranger = message.to.find((j) => !neighbors.includes(j));
    if (stranger !== undefined) return refusal('not-in-round', `a share for device ${stranger}, which is not one of this device's ${neighbors.length} neighbors in round ${this.round} (${neighbors.join(', ')})`, { field: 'to', ...at });
    if (new Set(message.to).size !== neighbors.length || message.to.length !== neighbors.length) {
      return refusal('bad-value', `shares for ${message.to.length} devices; exactly one for each of the ${neighbors.length} neighbors (${neighbors.join(', ')}) expected`, { field: 'to', ...at });
    }
    if (data.byteLength !== message.to.length * SEALED_BYTES) {
      return refusal('wrong-length', `${data.byteLength} bytes of sealed shares; ${message.to.length} bundles of ${SEALED_BYTES} bytes (${message.to.length * SEALED_BYTES}) expected`, { field: 'data', ...at });
    }
    this.bundles.set(member.index, { to: message.to, data });
    member.bytes += jsonBytes(message) + data.byteLength;
    this.answered(member.index);
    return null;
  }

  masked(device: Device, round: number, data: Uint8Array): Refusal | null {
    const at = { round };
    const member = this.memberOf(device, round, 'mask');
    if ('ok' in member) return member;
    if (!this.active.has(member.index)) return refusal('not-in-round', `this device did not share keys in round ${this.round}, so its masked input cannot be unmasked`, at);
    if (this.server!.senders.has(member.index)) return refusal('duplicate', `this device already sent its masked input for round ${this.round}`, at);
    const { length, modulusBits } = this.setup!;
    let y: Uint32Array;
    try {
      y = unpackMasked(data, modulusBits, length);
    } catch (error) {
      return refusal('wrong-length', `masked input: ${(error as Error).message}`, { field: 'data', ...at });
    }
    try {
      this.server!.masked(member.index, y);
    } catch (error) {
      return refusal('bad-value', `masked input: ${(error as Error).message}`, { field: 'data', ...at });
    }
    member.bytes += jsonBytes({ round }) + data.byteLength;
    this.answered(member.index);
    return null;
  }

  reveal(device: Device, message: SecAggReveal): Refusal | null {
    const at = { round: message.round };
    const member = this.memberOf(device, message.round, 'unmask');
    if ('ok' in member) return member;
    const senders = this.server!.senders;
    if (!senders.has(member.index)) return refusal('not-in-round', `this device's masked input is not in round ${this.round}'s sum; only senders unmask`, at);
    if (this.revealedBy.has(member.index)) return refusal('duplicate', `this device already revealed its shares for round ${this.round}`, at);
    const holds = this.setup!.neighbors[member.index].filter((j) => this.active.has(j));
    const shares: Revealed[] = [];
    const seen = new Set<number>();
    for (const share of message.shares) {
      if (!holds.includes(share.of)) return refusal('not-in-round', `a share of device ${share.of}, whose bundle this device does not hold in round ${this.round}`, { field: 'shares', ...at });
      if (seen.has(share.of)) return refusal('bad-value', `two shares of device ${share.of}`, { field: 'shares', ...at });
      seen.add(share.of);
      const owed = senders.has(share.of) ? 'b' : 's';
      if (share.kind !== owed) return refusal('bad-value', `device ${share.of} ${owed === 'b' ? 'sent' : 'did not send'} its masked input: the share of its ${owed === 'b' ? 'self-mask seed (b)' : 'mask key (s)'} is owed, not ${share.kind}`, { field: 'shares', ...at });
      const y = bytesToBigInt(fromBase64url(share.y));
      if (y >= P) return refusal('bad-value', `the share of device ${share.of} is not a field element (at least 2^521 - 1)`, { field: 'shares', ...at });
      shares.push({ of: share.of, kind: share.kind, share: { x: member.index + 1, y } });
    }
    this.revealed.push(...shares);
    this.revealedBy.add(member.index);
    member.bytes += jsonBytes(message);
    this.answered(member.index);
    return null;
  }

  /** A device left or lost its connection: no step waits for it. */
  gone(deviceId: string): void {
    const member = this.byDevice.get(deviceId);
    if (member) this.answered(member.index);
  }

  // ---- the steps, driven by the round ----

  /** Step 2 opens: the roster from those who advertised (by seat), each told its place and its neighbors' keys. */
  async shareStep(): Promise<Member[]> {
    const list = [...this.advertised.values()].sort((a, b) => a.device.seat - b.device.seat);
    this.members = list.map((a, index) => ({ device: a.device, index, advert: { index, ...a.advert }, meta: a.meta, bytes: a.bytes }));
    for (const m of this.members) this.byDevice.set(m.device.id, m);
    const { round, length, bits, thresholdRatio, graphSeed, modulusBits } = this.options;
    const setup = modulusBits === undefined ? setupRound(round, this.members.length, length, bits, graphSeed, thresholdRatio) : setupRound(round, this.members.length, length, modulusBits, graphSeed, thresholdRatio, modulusBits);
    this.setup = setup;
    this.server = new SecAggServer(setup);
    const key = (buffer: Uint8Array) => Buffer.from(buffer).toString('base64url');
    await this.runStep('share', this.members, (m) => {
      const neighbors = setup.neighbors[m.index].map((j) => ({ index: j, cPublic: key(this.members[j].advert.cPublic), sPublic: key(this.members[j].advert.sPublic) }));
      return [{ round, index: m.index, n: setup.n, graphSeed, threshold: setup.threshold, degree: setup.degree, modulusBits: setup.modulusBits, length, neighbors }];
    });
    for (const index of this.bundles.keys()) this.active.add(index);
    return this.members.filter((m) => this.active.has(m.index));
  }

  /** Step 3 opens: each device that shared gets the bundles sealed for it by the others that shared, and the list of who did. */
  async maskStep(): Promise<Member[]> {
    const active = [...this.active].sort((a, b) => a - b);
    for (const index of active) this.server!.advertised(this.members[index].advert);
    await this.runStep(
      'mask',
      active.map((i) => this.members[i]),
      (m) => {
        const from: number[] = [];
        const parts: Uint8Array[] = [];
        for (const sender of active) {
          const bundle = this.bundles.get(sender)!;
          const at = bundle.to.indexOf(m.index);
          if (at < 0) continue;
          from.push(sender);
          parts.push(bundle.data.subarray(at * SEALED_BYTES, (at + 1) * SEALED_BYTES));
        }
        const data = new Uint8Array(parts.length * SEALED_BYTES);
        parts.forEach((p, k) => data.set(p, k * SEALED_BYTES));
        return [{ round: this.round, from, active }, data];
      },
    );
    return this.members.filter((m) => this.server!.senders.has(m.index));
  }

  /** Step 4 opens: the senders are named to themselves; they reveal. */
  async unmaskStep(): Promise<void> {
    const senders = [...this.server!.senders].sort((a, b) => a - b);
    await this.runStep(
      'unmask',
      senders.map((i) => this.members[i]),
      () => [{ round: this.round, senders }],
    );
  }

  /** The exact sum mod 2^m of the senders' inputs; throws (with how many shares were missing) when too few revealed. */
  async finish(): Promise<Uint32Array> {
    this.step = 'closed';
    return (await this.server!.finish(this.revealed)).sum;
  }

  close(): void {
    this.step = 'closed';
    this.endStep?.();
  }

  // ---- helpers ----

  private memberOf(device: Device, round: number, step: SecureStep): Member | Refusal {
    const at = { round };
    if (round !== this.round) return refusal('stale-round', `round ${round} is not open; the open round is ${this.round}`, at);
    if (this.step !== step) return refusal('wrong-step', `round ${this.round} is at step "${this.step}", not "${step}"; the steps go advertise, share, mask, unmask`, at);
    const member = this.byDevice.get(device.id);
    if (!member) return refusal('not-in-round', `this device is not in round ${this.round}'s roster (it did not advertise keys after training)`, at);
    return member;
  }

  private answered(index: number): void {
    this.expected.delete(index);
    if (this.expected.size === 0) this.endStep?.();
  }

  /** Sends each member its message, then waits until every connected one answered, or the step's deadline. */
  private async runStep(step: SecureStep, members: Member[], message: (m: Member) => [object, Uint8Array?]): Promise<void> {
    this.step = step;
    const event = step === 'share' ? 'roster' : step === 'mask' ? 'shares' : 'unmask';
    this.expected = new Set(members.filter((m) => m.device.socketId !== null).map((m) => m.index));
    const ended = new Promise<void>((resolve) => (this.endStep = resolve));
    const timer = setTimeout(() => this.endStep?.(), this.options.stepDeadlineMs);
    for (const m of members) {
      const [payload, data] = message(m);
      this.options.send(m.device, event, payload, data);
    }
    if (this.expected.size > 0) await ended;
    clearTimeout(timer);
    this.endStep = null;
  }
}
