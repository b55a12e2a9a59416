// Node-only helpers for headless devices: datasets read from disk, simulated telemetry.
import { loadDataset } from '@fedbit/datasets/node';
import type { ImageDataset } from '@fedbit/datasets';
import type { DataProvider } from './runtime';

const cache = new Map<string, Promise<ImageDataset>>();

/** Datasets from the local cache (built on first use); shared by every simulated device in a process. */
export function diskData(): DataProvider {
  return {
    load(name, size) {
      const key = `${name}-${size}`;
      let dataset = cache.get(key);
      if (!dataset) {
        dataset = loadDataset(name, { size });
        cache.set(key, dataset);
      }
      return dataset;
    },
  };
}

export * from './index';
