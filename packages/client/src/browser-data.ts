// Where a browser device's images come from: the dataset binary fetched from the aggregator once
// (then only its shard is used), or digits drawn by the person in this tab (all of them are used,
// and nothing is fetched), or the person's own photos, kept in this tab the same way.
import { decodeDataset, drawnDataset, photoDataset, type Drawing, type Photo } from '@fedbit/datasets';
import type { DataProvider } from './train-env';

export function httpData(baseUrl: string): DataProvider {
  return {
    async load(name, size) {
      const response = await fetch(new URL(`/data/${name}-${size}.bin`, baseUrl));
      if (!response.ok) throw new Error(`dataset ${name}-${size} could not be fetched: HTTP ${response.status}`);
      return decodeDataset(new Uint8Array(await response.arrayBuffer()));
    },
  };
}

/** The person's own drawings, resized to the run's image size; never sent anywhere. */
export function drawnData(drawings: readonly Drawing[]): DataProvider {
  return {
    own: true,
    async load(name, size) {
      return drawnDataset(drawings, size, name === 'emoji' ? 3 : 1, name);
    },
  };
}

/** The person's own photos (32x32 RGB), at the run's image size and channels; never sent anywhere. */
export function photoData(photos: readonly Photo[]): DataProvider {
  return {
    own: true,
    async load(name, size) {
      return photoDataset(photos, size, name === 'emoji' ? 3 : 1, name);
    },
  };
}
