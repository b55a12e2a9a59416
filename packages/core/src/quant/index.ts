export { xxhash32 } from './xxhash32';
export { float32ToHalfBits, halfBitsToFloat32, HALF_MAX } from './half';
export {
  DEFAULT_BLOCK_SIZE,
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_VERSION,
  FrameError,
  frameBytes,
  frameChecksum,
  readFrameHeader,
  type FrameCodec,
  type FrameExpectation,
  type FrameField,
  type FrameHeader,
} from './frame';
export { accumulateFrame, decodeUpdate, encodeUpdate, inspectFrame, type CheckedFrame, type EncodeOptions } from './codec';
export { blockScaleSq, varianceBound, updateStats, type UpdateStats } from './variance';
export { ErrorFeedback, contractionFactor } from './error-feedback';
export { GRID_BITS, GRID_MAX_BITS, decodeGridMean, encodeOnGrid, gridBitsOf, gridScales, isGridBits, type Grid, type GridBits } from './grid';
