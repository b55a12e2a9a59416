// How the protocol's byte strings travel (packages/core/src/protocol/secagg.ts holds the message
// schemas): a sealed share bundle has a fixed size, and a masked vector is packed at exactly m =
// modulusBits bits a value, little-endian (value i at bits i*m .. i*m + m - 1), so a device sends
// m bits per parameter as the protocol promises, not a 16- or 32-bit word. One source for the
// device and the aggregator.
import { SHARE_BYTES } from './shamir';

/** AES-GCM IV (12) + two share values + tag (16). */
export const SEALED_BYTES = 12 + 2 * SHARE_BYTES + 16;

/** Bytes of a masked vector of `length` values at `modulusBits` bits. */
export const maskedBytes = (length: number, modulusBits: number): number => Math.ceil((length * modulusBits) / 8);

/** The masked vector as bytes on the wire (every value below 2^modulusBits, modulusBits <= 32). */
export function packMasked(y: Uint32Array, modulusBits: number): Uint8Array {
  const out = new Uint8Array(maskedBytes(y.length, modulusBits));
  // At most 7 + 32 bits are pending: exact in a double, and no 32-bit bitwise overflow.
  let pending = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < y.length; i++) {
    pending += y[i] * 2 ** bits;
    bits += modulusBits;
    while (bits >= 8) {
      out[o++] = pending % 256;
      pending = Math.floor(pending / 256);
      bits -= 8;
    }
  }
  if (bits > 0) out[o] = pending;
  return out;
}

/** The masked vector from the wire; throws with what was expected when the size is wrong. */
export function unpackMasked(data: Uint8Array, modulusBits: number, length: number): Uint32Array {
  const expected = maskedBytes(length, modulusBits);
  if (data.byteLength !== expected) throw new RangeError(`masked input of ${data.byteLength} bytes; ${length} values of ${modulusBits} bits (${expected} bytes) expected`);
  const y = new Uint32Array(length);
  const top = 2 ** modulusBits;
  let pending = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < length; i++) {
    while (bits < modulusBits) {
      pending += data[at++] * 2 ** bits;
      bits += 8;
    }
    y[i] = pending % top;
    pending = Math.floor(pending / top);
    bits -= modulusBits;
  }
  return y;
}
