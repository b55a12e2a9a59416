// The primitives, all from WebCrypto so the same code runs in a browser tab and in Node 20:
// ECDH on P-256 for key agreement (every browser has it; X25519 is newer), SHA-256 to turn a shared
// secret into keys, AES-CTR to expand a seed into a mask (a pseudorandom generator keyed by the
// full 256-bit seed through SHA-256), AES-GCM to encrypt a share for its recipient.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
/** WebCrypto's inputs as its types want them (bytes on a plain ArrayBuffer). */
const bs = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export interface KeyPair {
  /** Uncompressed P-256 point, 65 bytes. */
  publicRaw: Uint8Array;
  privateKey: CryptoKey;
  /** The private scalar, 32 bytes: what is secret-shared so a dropped device's masks can be undone. */
  privateD: Uint8Array;
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;

export function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function toBase64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function generateKeyPair(): Promise<KeyPair> {
  const pair = (await subtle.generateKey(ECDH, true, ['deriveBits'])) as CryptoKeyPair;
  const publicRaw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const jwk = await subtle.exportKey('jwk', pair.privateKey);
  return { publicRaw, privateKey: pair.privateKey, privateD: fromBase64url(jwk.d!) };
}

/** The private key with scalar `d` whose public point is `publicRaw` (a dropped device's key, rebuilt from shares). */
export async function importPrivateKey(d: Uint8Array, publicRaw: Uint8Array): Promise<CryptoKey> {
  const jwk: JsonWebKey = { kty: 'EC', crv: 'P-256', d: toBase64url(d), x: toBase64url(publicRaw.subarray(1, 33)), y: toBase64url(publicRaw.subarray(33, 65)), ext: true };
  return subtle.importKey('jwk', jwk, ECDH, false, ['deriveBits']);
}

/** The 32-byte ECDH secret of `privateKey` and the peer's public point. */
export async function agree(privateKey: CryptoKey, peerPublicRaw: Uint8Array): Promise<Uint8Array> {
  const peer = await subtle.importKey('raw', bs(peerPublicRaw), ECDH, false, []);
  return new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256));
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await subtle.digest('SHA-256', bs(joined)));
}

let zeros = new Uint8Array(0);

/**
 * `count` pseudorandom words of `wordBits` (16 or 32) bits from `seed` and `label`: AES-128-CTR,
 * keyed by SHA-256(seed || label), over zeros. Everyone with the seed expands the same mask.
 */
export async function expand(seed: Uint8Array, label: string, count: number, wordBits: 16 | 32): Promise<Uint16Array | Uint32Array> {
  const keyBytes = (await sha256(seed, encoder.encode(label))).subarray(0, 16);
  const key = await subtle.importKey('raw', bs(keyBytes), 'AES-CTR', false, ['encrypt']);
  const bytes = count * (wordBits / 8);
  if (zeros.length < bytes) zeros = new Uint8Array(bytes);
  const stream = await subtle.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 64 }, key, bs(zeros.subarray(0, bytes)));
  return wordBits === 16 ? new Uint16Array(stream) : new Uint32Array(stream);
}

/** AES-256-GCM under SHA-256(shared secret || "share"), with the sender and recipient bound as associated data. */
export async function seal(shared: Uint8Array, context: string, plaintext: Uint8Array): Promise<Uint8Array> {
  const key = await subtle.importKey('raw', bs(await sha256(shared, encoder.encode('share'))), 'AES-GCM', false, ['encrypt']);
  const iv = randomBytes(12);
  const body = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: encoder.encode(context) }, key, bs(plaintext)));
  const out = new Uint8Array(12 + body.length);
  out.set(iv);
  out.set(body, 12);
  return out;
}

/** Opens what seal() made; throws if it was altered or is not for this context. */
export async function open(shared: Uint8Array, context: string, sealed: Uint8Array): Promise<Uint8Array> {
  const key = await subtle.importKey('raw', bs(await sha256(shared, encoder.encode('share'))), 'AES-GCM', false, ['decrypt']);
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: bs(sealed.subarray(0, 12)), additionalData: encoder.encode(context) }, key, bs(sealed.subarray(12))));
}
