// Shamir secret sharing (Shamir, "How to Share a Secret", CACM 1979) over the prime field of the
// Mersenne prime 2^521 - 1, wide enough for a 32-byte secret (a mask seed or a private key). A
// secret is the constant term of a random polynomial of degree t - 1; any t of its values
// recover it by Lagrange interpolation at 0, fewer reveal nothing.

export const P = (1n << 521n) - 1n;
/** Bytes of one share value (521 bits). */
export const SHARE_BYTES = 66;

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

const inverse = (a: bigint) => modPow(a, P - 2n);

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let x = 0n;
  for (const byte of bytes) x = (x << 8n) | BigInt(byte);
  return x;
}

export function bigIntToBytes(x: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = x;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`value does not fit in ${length} bytes`);
  return out;
}

function randomFieldElement(random: (n: number) => Uint8Array): bigint {
  // 521 random bits, redrawn in the rare case they are not below P: uniform in the field.
  for (;;) {
    const bytes = random(SHARE_BYTES);
    bytes[0] &= 0x01; // 521 bits
    const x = bytesToBigInt(bytes);
    if (x < P) return x;
  }
}

export interface Share {
  /** The evaluation point, 1..n (never 0: that is the secret). */
  x: number;
  y: bigint;
}

/** Splits `secret` (at most 65 bytes) so that any `threshold` of the shares at points `xs` recover it. */
export function split(secret: Uint8Array, threshold: number, xs: readonly number[], random: (n: number) => Uint8Array): Share[] {
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= xs.length)) throw new RangeError(`threshold ${threshold} must be in 1..${xs.length}`);
  if (new Set(xs).size !== xs.length || xs.some((x) => !(Number.isInteger(x) && x >= 1))) throw new RangeError('share points must be distinct integers >= 1');
  const coefficients = [mod(bytesToBigInt(secret))];
  for (let i = 1; i < threshold; i++) coefficients.push(randomFieldElement(random));
  return xs.map((x) => {
    const bx = BigInt(x);
    let y = 0n;
    for (let i = coefficients.length - 1; i >= 0; i--) y = (y * bx + coefficients[i]) % P;
    return { x, y };
  });
}

/** The secret from `threshold` or more shares (Lagrange interpolation at 0), as `length` bytes. */
export function combine(shares: readonly Share[], length: number): Uint8Array {
  if (shares.length === 0) throw new RangeError('no shares to combine');
  let secret = 0n;
  for (const { x: xi, y: yi } of shares) {
    let num = 1n;
    let den = 1n;
    for (const { x: xj } of shares) {
      if (xj === xi) continue;
      num = (num * BigInt(-xj)) % P;
      den = (den * BigInt(xi - xj)) % P;
    }
    secret = mod(secret + yi * mod(num) * inverse(mod(den)));
  }
  return bigIntToBytes(secret, length);
}
