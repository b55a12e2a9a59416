// Secure aggregation of low-bit integer updates: the server learns the sum of a round's inputs and
// nothing else about any one of them (Bonawitz et al., "Practical Secure Aggregation for
// Privacy-Preserving Machine Learning", CCS 2017; with SecAgg+'s sparse graph, Bell et al., CCS
// 2020, arXiv 2005.11348). What is new here: the inputs are the codec's quantization levels, so the
// masks live modulo 2^m with m = bits + ceil(log2 n), just wide enough for the exact sum (14 bits
// for 1,000 devices at 4 bits, not the 32 of float-masking frameworks), and a device sends m bits
// per value.
//
// One round, four steps (the device never sends a secret in the clear; shares travel sealed to
// their recipient through the server):
//   1. advertise   each device: two P-256 public keys, c (to seal shares) and s (to agree masks)
//   2. share       each device: a fresh 32-byte self-mask seed b and its private s key, each split
//                  into Shamir shares (threshold t) for its k neighbors, every pair sealed with AES-GCM
//   3. mask        y_i = x_i + PRG(b_i) + sum_{j in N(i)} (+-) PRG(ECDH(s_i, s_j))  mod 2^m
//                  (+ when i < j, - when i > j, so pair masks cancel in the sum)
//   4. unmask      the server names who sent y; each responding device opens the shares it holds and
//                  reveals, per neighbor, the share of b (the neighbor sent y) or of s (it did not),
//                  never both; the server rebuilds the self masks of those who sent y and the pair
//                  masks of those who dropped after step 2, and takes them off the sum.
// Threat model: an honest-but-curious server and honest devices (docs/SECURITY.md). Threshold t is
// 40% of a device's neighbors, so a round survives 30% of devices dropping with overwhelming
// probability at k = 2 ceil(3 log2 n).
import { agree, expand, generateKeyPair, importPrivateKey, open, randomBytes, seal, type KeyPair } from './crypto';
import { neighborGraph } from './graph';
import { SHARE_BYTES, bigIntToBytes, bytesToBigInt, combine, split, type Share } from './shamir';

export interface RoundSetup {
  round: number;
  /** Devices in the round's roster, indexed 0..n-1. */
  n: number;
  /** Values per input. */
  length: number;
  /** Every input value is below 2^bits. */
  bits: number;
  /** Mask modulus: 2^modulusBits, enough for the sum of n inputs. */
  modulusBits: number;
  /** Neighbors per device (n - 1: every other device). */
  degree: number;
  /** Shares needed to rebuild a secret. */
  threshold: number;
  neighbors: number[][];
}

/** The threshold's default: 40% of a device's neighbors, so 30% dropout is survived with overwhelming probability. */
export const DEFAULT_THRESHOLD_RATIO = 0.4;

/**
 * The round's parameters, from its size and the inputs' precision; graphSeed is chosen by the server.
 * `modulus`: the mask modulus's bits when the inputs are already residues modulo 2^modulus (signed
 * noisy integers, core/privacy/ddg.ts, whose sum is read back as signed); by default bits +
 * ceil(log2 n), enough for the exact sum of n inputs below 2^bits.
 */
export function setupRound(round: number, n: number, length: number, bits: number, graphSeed: number, thresholdRatio = DEFAULT_THRESHOLD_RATIO, modulus?: number): RoundSetup {
  if (!(Number.isInteger(n) && n >= 2)) throw new RangeError(`secure aggregation needs at least 2 devices, got ${n}`);
  if (modulus !== undefined && !(Number.isInteger(modulus) && modulus >= 2 && modulus <= 32)) throw new RangeError(`mask modulus ${modulus} bits must be 2..32`);
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= (modulus ?? 16))) throw new RangeError(`input bits ${bits} must be 1..${modulus ?? 16}`);
  const modulusBits = modulus ?? bits + Math.ceil(Math.log2(n));
  if (modulusBits > 32) throw new RangeError(`${n} devices at ${bits} bits need ${modulusBits}-bit masks; at most 32 are supported`);
  const sparse = 2 * Math.ceil(3 * Math.log2(n));
  const degree = sparse >= n - 1 ? n - 1 : sparse;
  if (!(thresholdRatio > 0 && thresholdRatio <= 1)) throw new RangeError(`threshold ratio ${thresholdRatio} must be in (0, 1]`);
  const threshold = Math.min(degree, Math.max(2, Math.ceil(thresholdRatio * degree)));
  return { round, n, length, bits, modulusBits, degree, threshold, neighbors: neighborGraph(n, degree, graphSeed) };
}

export interface Advert {
  index: number;
  cPublic: Uint8Array;
  sPublic: Uint8Array;
}

export interface SealedShares {
  from: number;
  to: number;
  sealed: Uint8Array;
}

export interface Revealed {
  /** The device the share belongs to. */
  of: number;
  /** 'b': its self-mask seed (it sent y); 's': its private mask key (it dropped). */
  kind: 'b' | 's';
  share: Share;
}

const wordBitsOf = (modulusBits: number): 16 | 32 => (modulusBits <= 16 ? 16 : 32);
const context = (round: number, from: number, to: number) => `fedbit-secagg:${round}:${from}->${to}`;

/** y += sign * mask, mod 2^32 (reduced mod 2^m at the end, which 2^m | 2^32 makes exact). */
function addMask(y: Uint32Array, mask: Uint16Array | Uint32Array, sign: 1 | -1): void {
  if (sign === 1) for (let i = 0; i < y.length; i++) y[i] += mask[i];
  else for (let i = 0; i < y.length; i++) y[i] -= mask[i];
}

export class SecAggDevice {
  private c!: KeyPair;
  private s!: KeyPair;
  private b: Uint8Array | null = null;
  private roster = new Map<number, Advert>();
  private held = new Map<number, { b: Share; s: Share }>();
  private revealed = false;

  /** `keys`: the pairs already advertised (a live round advertises before the roster, hence before setup, exists). */
  constructor(
    readonly setup: RoundSetup,
    readonly index: number,
    keys?: { c: KeyPair; s: KeyPair },
  ) {
    if (keys) [this.c, this.s] = [keys.c, keys.s];
  }

  async advertise(): Promise<Advert> {
    [this.c, this.s] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    return { index: this.index, cPublic: this.c.publicRaw, sPublic: this.s.publicRaw };
  }

  /** Step 2: shares of a fresh self-mask seed and of the private mask key, one sealed bundle per neighbor. */
  async share(adverts: readonly Advert[]): Promise<SealedShares[]> {
    for (const advert of adverts) this.roster.set(advert.index, advert);
    const neighbors = this.setup.neighbors[this.index];
    const points = neighbors.map((j) => j + 1);
    this.b = randomBytes(32);
    const bShares = split(this.b, this.setup.threshold, points, randomBytes);
    const sShares = split(this.s.privateD, this.setup.threshold, points, randomBytes);
    return Promise.all(
      neighbors.map(async (j, k) => {
        const peer = this.advertOf(j);
        const plain = new Uint8Array(2 * SHARE_BYTES);
        plain.set(bigIntToBytes(bShares[k].y, SHARE_BYTES));
        plain.set(bigIntToBytes(sShares[k].y, SHARE_BYTES), SHARE_BYTES);
        return { from: this.index, to: j, sealed: await seal(await agree(this.c.privateKey, peer.cPublic), context(this.setup.round, this.index, j), plain) };
      }),
    );
  }

  /** Keeps the bundles neighbors sealed for this device, checking each opens. */
  async receive(bundles: readonly SealedShares[]): Promise<void> {
    for (const bundle of bundles) {
      if (bundle.to !== this.index || !this.setup.neighbors[this.index].includes(bundle.from)) throw new Error(`a share bundle from ${bundle.from} to ${bundle.to} is not for this device`);
      const plain = await open(await agree(this.c.privateKey, this.advertOf(bundle.from).cPublic), context(this.setup.round, bundle.from, this.index), bundle.sealed);
      const x = this.index + 1;
      this.held.set(bundle.from, { b: { x, y: bytesToBigInt(plain.subarray(0, SHARE_BYTES)) }, s: { x, y: bytesToBigInt(plain.subarray(SHARE_BYTES)) } });
    }
  }

  /**
   * Step 3: the masked input, m bits per value (in a Uint32Array, values below 2^m). `active`: the
   * devices that shared keys (step 2); pair masks are agreed only with those, since the server can
   * remove a pair mask of a dropped device only if that device's key was shared.
   */
  async mask(x: ArrayLike<number>, active?: ReadonlySet<number>): Promise<Uint32Array> {
    const { length, bits, modulusBits, round } = this.setup;
    if (x.length !== length) throw new RangeError(`input has ${x.length} values, the round ${length}`);
    if (!this.b) throw new Error('share() must run before mask()');
    const y = new Uint32Array(length);
    const top = 2 ** bits;
    for (let i = 0; i < length; i++) {
      const v = x[i];
      if (!(Number.isInteger(v) && v >= 0 && v < top)) throw new RangeError(`input value ${i} is ${v}; expected an integer in [0, ${top})`);
      y[i] = v;
    }
    const wordBits = wordBitsOf(modulusBits);
    addMask(y, await expand(this.b, `self:${round}`, length, wordBits), 1);
    for (const j of this.setup.neighbors[this.index]) {
      if (active && !active.has(j)) continue;
      const seed = await agree(this.s.privateKey, this.advertOf(j).sPublic);
      addMask(y, await expand(seed, `pair:${round}`, length, wordBits), this.index < j ? 1 : -1);
    }
    const mod = modulusBits === 32 ? 0xffffffff : 2 ** modulusBits - 1;
    for (let i = 0; i < length; i++) y[i] &= mod;
    return y;
  }

  /** Step 4: per neighbor it holds shares of, the share of b if that neighbor sent y, else of s. */
  unmask(sent: ReadonlySet<number>): Revealed[] {
    // Once per round: a second answer to a different list of senders would hand out both kinds of share for someone.
    if (this.revealed) throw new Error('this device has already revealed its shares for the round');
    this.revealed = true;
    return [...this.held].map(([of, shares]) => (sent.has(of) ? { of, kind: 'b' as const, share: shares.b } : { of, kind: 's' as const, share: shares.s }));
  }

  private advertOf(j: number): Advert {
    const advert = this.roster.get(j);
    if (!advert) throw new Error(`no advertised keys for device ${j}`);
    return advert;
  }
}

export class SecAggServer {
  private readonly adverts = new Map<number, Advert>();
  private readonly sum: Uint32Array;
  private readonly sent = new Set<number>();

  constructor(readonly setup: RoundSetup) {
    this.sum = new Uint32Array(setup.length);
  }

  advertised(advert: Advert): void {
    this.adverts.set(advert.index, advert);
  }

  /** Step 3 arrives: added to the running sum at once (the server never keeps one device's y). */
  masked(index: number, y: Uint32Array): void {
    if (!this.adverts.has(index)) throw new Error(`device ${index} did not share keys in this round`);
    if (this.sent.has(index)) throw new Error(`device ${index} already sent its masked input`);
    if (y.length !== this.setup.length) throw new RangeError(`masked input has ${y.length} values, the round ${this.setup.length}`);
    const limit = 2 ** this.setup.modulusBits;
    for (let i = 0; i < y.length; i++) {
      if (y[i] >= limit) throw new RangeError(`masked value ${i} is ${y[i]}; expected below 2^${this.setup.modulusBits}`);
      this.sum[i] += y[i];
    }
    this.sent.add(index);
  }

  /** Who sent a masked input: what step 4 asks devices about. */
  get senders(): ReadonlySet<number> {
    return this.sent;
  }

  /**
   * Step 4: rebuilds the self masks of every sender and the pair masks every sender shares with a
   * device that dropped, takes them off, and returns the exact sum mod 2^m of the senders' inputs.
   * Throws if some secret has fewer than `threshold` shares.
   */
  async finish(revealed: readonly Revealed[]): Promise<{ sum: Uint32Array; senders: number[]; dropped: number[] }> {
    const { round, length, modulusBits, threshold, neighbors } = this.setup;
    const wordBits = wordBitsOf(modulusBits);
    const byOwner = new Map<string, Share[]>();
    for (const r of revealed) {
      const key = `${r.kind}:${r.of}`;
      const list = byOwner.get(key) ?? [];
      if (!list.some((s) => s.x === r.share.x)) list.push(r.share);
      byOwner.set(key, list);
    }
    const secretOf = (kind: 'b' | 's', of: number): Uint8Array => {
      const shares = byOwner.get(`${kind}:${of}`) ?? [];
      if (shares.length < threshold) throw new Error(`device ${of}: ${shares.length} shares of its ${kind === 'b' ? 'self-mask seed' : 'mask key'}, ${threshold} needed; the round cannot be unmasked`);
      return combine(shares.slice(0, threshold), 32);
    };
    const result = Uint32Array.from(this.sum);
    const senders = [...this.sent].sort((a, b) => a - b);
    const dropped = [...this.adverts.keys()].filter((i) => !this.sent.has(i)).sort((a, b) => a - b);
    for (const i of senders) addMask(result, await expand(secretOf('b', i), `self:${round}`, length, wordBits), -1);
    for (const j of dropped) {
      const advert = this.adverts.get(j)!;
      const key = await importPrivateKey(secretOf('s', j), advert.sPublic);
      for (const i of neighbors[j]) {
        if (!this.sent.has(i)) continue;
        const seed = await agree(key, this.adverts.get(i)!.sPublic);
        // Sender i added +mask when i < j, -mask when i > j: take off the same.
        addMask(result, await expand(seed, `pair:${round}`, length, wordBits), i < j ? -1 : 1);
      }
    }
    const mod = modulusBits === 32 ? 0xffffffff : 2 ** modulusBits - 1;
    for (let i = 0; i < length; i++) result[i] &= mod;
    return { sum: result, senders, dropped };
  }
}

/** Bytes one device sends in a round: two public keys, its sealed shares, its masked input packed at m bits, its revealed shares. */
export function bytesPerDevice(setup: RoundSetup, sealedBytes: number, revealedCount: number): number {
  const keys = 2 * 65;
  const masked = Math.ceil((setup.length * setup.modulusBits) / 8);
  const revealed = revealedCount * (SHARE_BYTES + 4);
  return keys + sealedBytes + masked + revealed;
}
