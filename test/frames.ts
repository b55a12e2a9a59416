// Hand-made bad frames for the refusal tests: valid in every way but the one under test.
import { FRAME_HEADER_BYTES, frameChecksum } from '@fedbit/core';

/** The first block's scale set to NaN, with the checksum recomputed so only the scale is wrong. */
export function corruptScale(frame: Uint8Array): Uint8Array {
  const copy = frame.slice();
  const view = new DataView(copy.buffer);
  view.setFloat32(FRAME_HEADER_BYTES, Number.NaN, true);
  view.setUint32(20, frameChecksum(copy), true);
  return copy;
}
