// What the leader of a cluster has measured of each device, kept in Redis so that a new leader
// plans with it (docs/SCALE.md, section 3): the smoothed link rates both ways and the step time
// (EWMAs), and the statistics of its last update (the norms and sum_b len_b s_b^2 that the
// on-demand policy prices precision with). The checkpoint keeps only the uplink rate and the update
// statistics as of the last commit; these records keep what was measured since, and what the
// checkpoint leaves out.
//
// Batched: at each round's opening (the telemetry since the last round: the join probe's timing,
// the last task's download and upload) and at its commit (the round's updates and step times), the
// leader writes, in one fenced Lua script, the records of the devices whose measures changed since
// it last wrote them: O(devices in the round, and those that joined) per round, not every device.
// What was measured after the last write is lost with a leader that dies.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Device, DeviceDirectory, Measures } from '../devices/registry';
import type { Leader, RedisStore } from './redis-store';

const DeviceIdSchema = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/);
const rate = z.number().positive().finite().nullable();
const stat = z.number().nonnegative().finite().nullable();

export const MeasuresSchema = z.object({ uplinkBps: rate, downlinkBps: rate, stepMs: rate, updateNormSq: stat, updateMaxAbs: stat, updateScaleSq: stat }).strict();

export function measuresOf(device: Readonly<Device>): Measures {
  return {
    uplinkBps: device.uplinkBps.value,
    downlinkBps: device.downlinkBps.value,
    stepMs: device.stepMs.value,
    updateNormSq: device.updateNormSq,
    updateMaxAbs: device.updateMaxAbs,
    updateScaleSq: device.updateScaleSq,
  };
}

/** The leader's record of what it last wrote of each device, so that only what changed is written again. */
export class MeasureLog {
  private readonly written = new Map<string, string>();

  /** A new leader: what it read back is what Redis holds. */
  reset(read: ReadonlyMap<string, Measures>): void {
    this.written.clear();
    for (const [id, measures] of read) this.written.set(id, JSON.stringify(measures));
  }

  /** Writes the records of the devices whose measures changed; false when `lease` no longer leads (nothing written). Returns how many were written. */
  async flush(store: RedisStore, lease: Leader, devices: DeviceDirectory): Promise<number | false> {
    const changed: Array<[string, string]> = [];
    for (const device of devices.all()) {
      const text = JSON.stringify(measuresOf(device));
      if (this.written.get(device.id) !== text) changed.push([device.id, text]);
    }
    if (changed.length === 0) return 0;
    if (!(await store.putMeasures(lease, changed))) return false;
    for (const [id, text] of changed) this.written.set(id, text);
    return changed.length;
  }
}

/** Every device's measures in Redis that parse; the others are logged and left out (that device is planned from its profile until measured again). */
export async function readMeasures(store: RedisStore, log: Logger): Promise<Map<string, Measures>> {
  const read = new Map<string, Measures>();
  let refused = 0;
  for (const [id, text] of Object.entries(await store.measures())) {
    let parsed: ReturnType<typeof MeasuresSchema.safeParse> | null = null;
    try {
      parsed = DeviceIdSchema.safeParse(id).success ? MeasuresSchema.safeParse(JSON.parse(text)) : null;
    } catch {
      parsed = null;
    }
    if (parsed?.success) read.set(id, parsed.data);
    else if (refused++ < 10) log.warn({ key: store.key('measures'), id: id.slice(0, 80), reason: parsed ? parsed.error.issues[0]?.message : 'not a device id, or not JSON' }, 'device measures refused: that device is planned from its profile until it is measured again');
  }
  return read;
}
