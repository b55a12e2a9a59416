// Node-only helpers for headless devices: datasets read from disk, simulated telemetry.
import { loadDataset } from '@fedbit/datasets/node';
import type { ImageDataset } from '@fedbit/datasets';
import { DeviceRuntime, type DeviceRuntimeOptions } from './runtime';
import type { DataProvider } from './train-env';
import { simulatedTelemetry, type DeviceProfile } from './telemetry';

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

export interface SimulatedDeviceOptions {
  url: string;
  joinCode: string;
  profile: DeviceProfile;
  /** Pace uploads at the profile's uplink rate, so the aggregator measures the simulated link (default on). */
  shaping?: boolean;
  /** 'measured' (default): upload timings as measured; 'profile': reported at the profile's rate exactly (reproducible runs). */
  linkRates?: 'measured' | 'profile';
  /** Any other runtime option (reconnection delays, telemetry interval). */
  runtime?: Partial<DeviceRuntimeOptions>;
}

/** A headless device with a simulated profile, training on wasm from the disk cache of datasets. */
export function simulatedDevice(options: SimulatedDeviceOptions): DeviceRuntime {
  const { profile } = options;
  return new DeviceRuntime({
    url: options.url,
    joinCode: options.joinCode,
    name: profile.name,
    platform: 'node',
    telemetry: simulatedTelemetry(profile),
    data: diskData(),
    backend: 'wasm',
    shapeUplinkBps: options.shaping === false ? undefined : profile.uplinkBps,
    reportUplinkBps: options.linkRates === 'profile' ? profile.uplinkBps : undefined,
    slowdown: profile.slowdown,
    attack: profile.attack,
    ...options.runtime,
  });
}
