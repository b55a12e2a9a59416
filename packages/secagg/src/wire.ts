// How the protocol's byte strings travel (packages/core/src/protocol/secagg.ts holds the message
// schemas): a sealed share bundle has a fixed size, masked vectors are little-endian words of 16
// bits when the modulus allows, else 32. One source for the device and the aggregator.
import { SHARE_BYTES } from './shamir';

/** AES-GCM IV (12) + two share values + tag (16). */
export const SEALED_BYTES = 12 + 2 * SHARE_BYTES + 16;

export const maskedWordBytes = (modulusBits: number): 2 | 4 => (modulusBits <= 16 ? 2 : 4);

/** The masked vector as bytes on the wire. */
export function packMasked(y: Uint32Array, modulusBits: number): Uint8Array {
  const bytes = maskedWordBytes(modulusBits);
  const out = new Uint8Array(y.length * bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < y.length; i++) {
    if (bytes === 2) view.setUint16(2 * i, y[i], true);
    else view.setUint32(4 * i, y[i], true);
  }
  return out;
}

/** The masked vector from the wire; throws with what was expected when the size is wrong. */
export function unpackMasked(data: Uint8Array, modulusBits: number, length: number): Uint32Array {
  const bytes = maskedWordBytes(modulusBits);
  if (data.byteLength !== length * bytes) throw new RangeError(`masked input of ${data.byteLength} bytes; ${length} values of ${bytes} bytes (${length * bytes}) expected`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const y = new Uint32Array(length);
  for (let i = 0; i < length; i++) y[i] = bytes === 2 ? view.getUint16(2 * i, true) : view.getUint32(4 * i, true);
  return y;
}
