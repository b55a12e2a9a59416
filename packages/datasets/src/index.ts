// Platform-neutral: no Node built-ins, so a browser bundle can use all of it.
export { DATASET_NAMES, pixelsPerImage, type DatasetName, type ImageDataset } from './types';
export { DATASET_MAGIC, DATASET_VERSION, DatasetFormatError, decodeDataset, encodeDataset } from './format';
export { resizeDataset, resizeImages, type ResizeMethod } from './resize';
export { labelsOf, numClasses, toFloatImages } from './images';
export { DEFAULT_DIRICHLET_ALPHA, partition, type PartitionKind, type PartitionOptions } from './partition';
export { defaultEvalCount, holdout, type HoldoutOptions, type Split } from './holdout';
export { encodePng, imageGrid, type GridOptions, type RasterImage } from './png';
export { HOLDOUT_SEED, groupIndices, shardOf, shardPlan, type ShardPlan, type ShardPlanSpec } from './shard';
export { DRAWN_SIZE, drawingProblem, drawnDataset, frameDrawing, type Drawing } from './drawn';
export { MAX_PHOTOS, NO_LABEL, PHOTO_SIZE, centreSquare, framePhoto, photoDataset, photoProblem, type Photo } from './photos';
export { VENDOR_EVAL_FRACTION, VENDOR_SPLIT_SEED, vendorIndices, vendorSplit, type VendorSplit } from './vendor-split';
