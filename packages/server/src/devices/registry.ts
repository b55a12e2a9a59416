// What the aggregator knows about each device: identity, capabilities, telemetry, measured link
// rates and step time, and the energy it has spent.
import { Ewma, batteryIsLow, linkRateBps, type Backend, type DeviceState, type Hello, type Platform, type Progress, type Telemetry } from '@fedbit/core';
import type { CheckpointState } from '../store';

export interface Device {
  id: string;
  /** SHA-256 (hex) of the resume token issued at first join; a hello must carry the token to resume this id. */
  tokenHash: string | null;
  name: string;
  /** Its place in the order of joining (0, 1, ...): the key of seeded choices, so they do not depend on random ids. */
  seat: number;
  platform: Platform;
  backend: Backend;
  adapter?: Hello['adapter'];
  userAgent?: string;
  telemetry: Telemetry;
  /** The connection this device is reached on now, or null while it is away. */
  socketId: string | null;
  state: DeviceState;
  shard: number;
  uplinkBps: Ewma;
  downlinkBps: Ewma;
  /** Measured milliseconds per local step (its backend trial, then its updates), smoothed. */
  stepMs: Ewma;
  /** Measured milliseconds per split step (its part's compute, the link both ways and the server's turn), smoothed. */
  splitStepMs: Ewma;
  /** Bytes of the last binary payload received from this device: the probe or an update. */
  lastReceivedBytes: number | null;
  /** Bytes of the model version its last task named: what its timing of a download may claim. */
  lastModelBytes: number | null;
  /** A LoRA run: whether a task has charged it the base's one download (dispatch.ts). */
  baseCharged: boolean;
  updateNormSq: number | null;
  updateMaxAbs: number | null;
  /** sum_b len_b s_b^2 of its last update at the run's block size (UpdateMeta.updateScaleSq). */
  updateScaleSq: number | null;
  energyJ: number;
  lastBits: number | null;
  /** Split runs: how it trained in its last task (full or split) and the share of its front it kept; null otherwise. */
  lastMode: { mode: 'full' | 'split'; keepRatio: number } | null;
  lastLoss: number | null;
  progress: Progress | null;
  joinedAt: number;
}

const RESTORED_TELEMETRY: Telemetry = { battery: null, charging: null, preference: 'balanced', deviceClass: 'laptop' };

function blankDevice(id: string, name: string, seat: number, shard: number): Device {
  return {
    id,
    tokenHash: null,
    name,
    seat,
    platform: 'browser',
    backend: 'cpu',
    telemetry: RESTORED_TELEMETRY,
    socketId: null,
    state: 'offline',
    shard,
    uplinkBps: new Ewma(),
    downlinkBps: new Ewma(),
    stepMs: new Ewma(),
    splitStepMs: new Ewma(),
    lastReceivedBytes: null,
    lastModelBytes: null,
    baseCharged: false,
    updateNormSq: null,
    updateMaxAbs: null,
    updateScaleSq: null,
    energyJ: 0,
    lastBits: null,
    lastMode: null,
    lastLoss: null,
    progress: null,
    joinedAt: Date.now(),
  };
}

/** What a device's join established and a new cluster leader needs to know it again (cluster/registry.ts). */
export interface JoinRecord {
  /** SHA-256 (hex) of its resume token. */
  tokenHash: string;
  seat: number;
  shard: number;
  name: string;
  platform: Platform;
  backend: Backend;
  adapter?: Hello['adapter'];
  userAgent?: string;
  telemetry: Telemetry;
}

/** What the aggregator measured of a device: its smoothed link rates and step time, its last update's statistics (a cluster's leader keeps them in Redis: cluster/measures.ts). */
export interface Measures {
  uplinkBps: number | null;
  downlinkBps: number | null;
  stepMs: number | null;
  updateNormSq: number | null;
  updateMaxAbs: number | null;
  updateScaleSq: number | null;
}

/** What a device says of itself at a join, copied from the hello or from a cluster's join record. */
function describeDevice(device: Device, from: Pick<JoinRecord, 'platform' | 'backend' | 'adapter' | 'userAgent' | 'telemetry'>): void {
  device.platform = from.platform;
  device.backend = from.backend;
  device.adapter = from.adapter;
  device.userAgent = from.userAgent;
  device.telemetry = from.telemetry;
}

/** The registry as readers see it (status, tests): lookups only; the engine alone changes devices. */
export interface DeviceDirectory {
  readonly size: number;
  /** Devices on a connection now (kept as they join and leave, not counted on each call). */
  readonly connectedCount: number;
  get(id: string): Readonly<Device> | undefined;
  all(): Readonly<Device>[];
  connected(): Readonly<Device>[];
  /** Every device in the order they joined, from `offset`, at most `limit` (GET /api/devices). */
  page(offset: number, limit: number): Readonly<Device>[];
}

/**
 * Every device the run knows, in the order they joined. The connected devices, and those of them
 * whose battery is low at the run's threshold, are counted as devices join, report and leave, so
 * what a join or a status needs to know (docs/SCALE.md, section 5) does not cost a pass over ten
 * thousand devices each time.
 */
export class DeviceRegistry implements DeviceDirectory {
  private readonly byId = new Map<string, Device>();
  private online = 0;
  /** Connected devices whose battery is low at `lowAt` (null: not counted yet). */
  private low = 0;
  private lowAt: number | null = null;

  get size(): number {
    return this.byId.size;
  }
  get connectedCount(): number {
    return this.online;
  }
  get(id: string): Device | undefined {
    return this.byId.get(id);
  }
  all(): Device[] {
    return [...this.byId.values()];
  }
  connected(): Device[] {
    const out: Device[] = [];
    for (const d of this.byId.values()) if (d.socketId !== null) out.push(d);
    return out;
  }
  page(offset: number, limit: number): Device[] {
    const out: Device[] = [];
    let i = 0;
    for (const d of this.byId.values()) {
      if (out.length >= limit) break;
      if (i++ >= offset) out.push(d);
    }
    return out;
  }

  /** Connected devices a round may ask: all of them, or (unless the run allows it) those whose battery is not low at `threshold`. */
  eligibleCount(config: { allowLowBattery: boolean; lowBatteryThreshold: number }): number {
    if (config.allowLowBattery) return this.online;
    if (this.lowAt !== config.lowBatteryThreshold) {
      // The first call, or the threshold changed: count once at the new one.
      this.lowAt = config.lowBatteryThreshold;
      this.low = 0;
      for (const d of this.byId.values()) this.low += this.weight(d);
    }
    return this.online - this.low;
  }

  /** 1 if the device is connected and its battery low at the counted threshold. */
  private weight(d: Device): number {
    return this.lowAt !== null && d.socketId !== null && batteryIsLow(d.telemetry, this.lowAt) ? 1 : 0;
  }

  /** Puts a device (away) in the place of what was known under its id, keeping the counts. */
  private replace(id: string, device: Device): void {
    const old = this.byId.get(id);
    if (old) {
      this.low -= this.weight(old);
      this.online -= Number(old.socketId !== null);
    }
    this.byId.set(id, device);
  }

  /** Applies `change` to a known device, keeping the counts. */
  private counted<T>(device: Device, change: () => T): T {
    const wasOnline = device.socketId !== null;
    this.low -= this.weight(device);
    const result = change();
    this.online += Number(device.socketId !== null) - Number(wasOnline);
    this.low += this.weight(device);
    return result;
  }

  /** A device joins (or rejoins) on a connection: what it said of itself replaces what was known. */
  upsert(id: string, hello: Hello, socketId: string, seat: number, shard: number): Device {
    const known = this.byId.get(id);
    const device = known ?? blankDevice(id, hello.name, seat, shard);
    if (!known) this.byId.set(id, device);
    this.counted(device, () => {
      device.name = hello.name;
      describeDevice(device, hello);
      device.socketId = socketId;
      device.state = 'idle';
    });
    return device;
  }

  /** Restores the memory a checkpoint keeps, so a resumed run still knows its devices. */
  restore(id: string, saved: CheckpointState['devices'][string]): void {
    const device = blankDevice(id, saved.name, saved.seat ?? saved.shard, saved.shard);
    device.tokenHash = saved.tokenHash ?? null;
    if (saved.uplinkBps) device.uplinkBps.add(saved.uplinkBps);
    device.updateNormSq = saved.updateNormSq;
    device.updateMaxAbs = saved.updateMaxAbs ?? null;
    device.updateScaleSq = saved.updateScaleSq ?? null;
    device.energyJ = saved.energyJ;
    this.replace(id, device);
  }

  /** A device a join recorded elsewhere (a cluster's earlier leader), unless this registry knows it already. */
  remember(id: string, record: JoinRecord): boolean {
    if (this.byId.has(id)) return false;
    const device = blankDevice(id, record.name, record.seat, record.shard);
    device.tokenHash = record.tokenHash;
    describeDevice(device, record);
    this.byId.set(id, device);
    return true;
  }

  /** What an earlier leader of a cluster measured of a known device replaces what this registry knows (its checkpoint's, older); false for a device it does not know. */
  takeMeasures(id: string, measures: Measures): boolean {
    const device = this.byId.get(id);
    if (!device) return false;
    device.uplinkBps.value = measures.uplinkBps;
    device.downlinkBps.value = measures.downlinkBps;
    device.stepMs.value = measures.stepMs;
    device.updateNormSq = measures.updateNormSq;
    device.updateMaxAbs = measures.updateMaxAbs;
    device.updateScaleSq = measures.updateScaleSq;
    return true;
  }

  /**
   * New telemetry. Its timing of the last upload must match a transfer this server received, and its
   * timing of the last model download the size of the model its last task named; else the field
   * that does not is returned and nothing changes.
   */
  updateTelemetry(device: Device, telemetry: Telemetry): 'lastUpload' | 'lastDownload' | null {
    const upload = telemetry.lastUpload;
    const download = telemetry.lastDownload;
    if (upload && (device.lastReceivedBytes === null || upload.bytes !== device.lastReceivedBytes)) return 'lastUpload';
    if (download && (device.lastModelBytes === null || download.bytes !== device.lastModelBytes)) return 'lastDownload';
    if (upload) device.uplinkBps.add(linkRateBps(upload.bytes, upload.ms));
    if (download) device.downlinkBps.add(linkRateBps(download.bytes, download.ms));
    if (telemetry.backend) device.backend = telemetry.backend;
    if (telemetry.stepMs) device.stepMs.add(telemetry.stepMs);
    this.counted(device, () => (device.telemetry = telemetry));
    return null;
  }

  /** Forgets every device (a cluster node adopting the committed state: its checkpoint's devices replace them). */
  clear(): void {
    this.byId.clear();
    this.online = 0;
    this.low = 0;
  }

  disconnect(id: string, left: boolean): Device | undefined {
    const device = this.byId.get(id);
    if (!device) return undefined;
    this.counted(device, () => {
      device.socketId = null;
      device.state = left ? 'left' : 'offline';
      device.progress = null;
    });
    return device;
  }
}
