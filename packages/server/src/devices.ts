// What the aggregator knows about each device: identity, capabilities, telemetry, measured bandwidth
// and the energy it has spent. Bandwidth comes from the device's real transfers (a probe at join,
// then every upload and every model download), smoothed; navigator.connection is only a hint.
import type { Hello, Telemetry } from '@fedbit/core';
import type { CheckpointState } from './store';

export type DeviceState = 'idle' | 'training' | 'uploaded' | 'offline' | 'left';

/** Exponentially weighted moving average of a rate; the first sample is taken as is. */
export class Ewma {
  value: number | null = null;
  constructor(private readonly alpha = 0.5) {}
  add(sample: number): void {
    if (!Number.isFinite(sample) || sample <= 0) return;
    this.value = this.value === null ? sample : this.alpha * sample + (1 - this.alpha) * this.value;
  }
}

export interface Device {
  id: string;
  name: string;
  platform: Hello['platform'];
  backend: Hello['backend'];
  adapter?: Hello['adapter'];
  userAgent?: string;
  telemetry: Telemetry;
  socketId: string | null;
  state: DeviceState;
  shard: number;
  uplinkBps: Ewma;
  downlinkBps: Ewma;
  /** Bytes of the last binary payload received from this device: the probe or an update. */
  lastReceivedBytes: number | null;
  updateNormSq: number | null;
  updateMaxAbs: number | null;
  energyJ: number;
  lastBits: number | null;
  lastLoss: number | null;
  progress: { round: number; step: number; steps: number; loss: number } | null;
  joinedAt: number;
}

export const LINK_SAMPLE_LIMITS = { minMs: 0.05, maxBps: 1e11 };

export class DeviceRegistry {
  private readonly byId = new Map<string, Device>();

  get size(): number {
    return this.byId.size;
  }
  get(id: string): Device | undefined {
    return this.byId.get(id);
  }
  all(): Device[] {
    return [...this.byId.values()];
  }
  connected(): Device[] {
    return this.all().filter((d) => d.socketId !== null);
  }

  upsert(id: string, hello: Hello, socketId: string, shard: number): Device {
    const existing = this.byId.get(id);
    const device: Device = existing ?? {
      id,
      name: hello.name,
      platform: hello.platform,
      backend: hello.backend,
      telemetry: hello.telemetry,
      socketId,
      state: 'idle',
      shard,
      uplinkBps: new Ewma(),
      downlinkBps: new Ewma(),
      lastReceivedBytes: null,
      updateNormSq: null,
      updateMaxAbs: null,
      energyJ: 0,
      lastBits: null,
      lastLoss: null,
      progress: null,
      joinedAt: Date.now(),
    };
    device.name = hello.name;
    device.platform = hello.platform;
    device.backend = hello.backend;
    device.adapter = hello.adapter;
    device.userAgent = hello.userAgent;
    device.telemetry = hello.telemetry;
    device.socketId = socketId;
    device.state = 'idle';
    this.byId.set(id, device);
    return device;
  }

  /** Restores the memory a checkpoint keeps, so a resumed run still knows its devices. */
  restore(id: string, saved: CheckpointState['devices'][string]): void {
    const uplink = new Ewma();
    if (saved.uplinkBps) uplink.add(saved.uplinkBps);
    this.byId.set(id, {
      id,
      name: saved.name,
      platform: 'browser',
      backend: 'cpu',
      telemetry: { battery: null, charging: null, preference: 'balanced', deviceClass: 'laptop' },
      socketId: null,
      state: 'offline',
      shard: saved.shard,
      uplinkBps: uplink,
      downlinkBps: new Ewma(),
      lastReceivedBytes: null,
      updateNormSq: saved.updateNormSq,
      updateMaxAbs: saved.updateMaxAbs ?? null,
      energyJ: saved.energyJ,
      lastBits: null,
      lastLoss: null,
      progress: null,
      joinedAt: Date.now(),
    });
  }

  /** A timing of a binary transfer of `bytes` that took `ms`, folded into the device's uplink rate. */
  recordUplink(device: Device, bytes: number, ms: number): boolean {
    if (device.lastReceivedBytes === null || bytes !== device.lastReceivedBytes) return false;
    const bps = (bytes * 8) / (Math.max(ms, LINK_SAMPLE_LIMITS.minMs) / 1000);
    device.uplinkBps.add(Math.min(bps, LINK_SAMPLE_LIMITS.maxBps));
    return true;
  }

  recordDownlink(device: Device, bytes: number, ms: number): void {
    const bps = (bytes * 8) / (Math.max(ms, LINK_SAMPLE_LIMITS.minMs) / 1000);
    device.downlinkBps.add(Math.min(bps, LINK_SAMPLE_LIMITS.maxBps));
  }

  disconnect(id: string, left: boolean): Device | undefined {
    const device = this.byId.get(id);
    if (!device) return undefined;
    device.socketId = null;
    device.state = left ? 'left' : 'offline';
    device.progress = null;
    return device;
  }

  /** Low battery and not charging: such a device is not chosen unless the run allows it. */
  static isLowBattery(device: Device, threshold: number): boolean {
    const { battery, charging } = device.telemetry;
    return battery !== null && battery < threshold && charging !== true;
  }
}
