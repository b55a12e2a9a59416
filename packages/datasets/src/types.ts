import { DATASETS, type DatasetName } from '@fedbit/core';

export type { DatasetName };

export const DATASET_NAMES: readonly DatasetName[] = DATASETS;

/** A labelled image set held as bytes: `pixels` is count*height*width*channels, row-major HWC. */
export interface ImageDataset {
  name: DatasetName;
  width: number;
  height: number;
  channels: 1 | 3;
  count: number;
  pixels: Uint8Array;
  labels: Int32Array;
  /** emoji: the vendor (drawing style) index of each image, the natural non-IID split. */
  groups?: Int32Array;
  groupNames?: string[];
  classNames?: string[];
}

export function pixelsPerImage(ds: Pick<ImageDataset, 'width' | 'height' | 'channels'>): number {
  return ds.width * ds.height * ds.channels;
}
