// Browser devices fetch the dataset binary from the aggregator once, then keep only their shard in use.
import { decodeDataset } from '@fedbit/datasets';
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
