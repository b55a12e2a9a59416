// What a cluster's leader keeps in Redis besides the commit, and a new leader reads back before it
// leads (docs/SCALE.md, section 3):
//   - the devices' join records (redis-store.ts `devices`): each device's id, the SHA-256 of its
//     resume token (never the token, as in the checkpoint: docs/SECURITY.md), its seat and shard and
//     the profile its hello gave. Written at every join before the device hears its welcome, so a
//     device that joined after the last commit keeps its id, token and seat under the next leader.
//   - the admin's last start, pause or stop of the run (`control`), so a run paused (or stopped) by
//     hand stays so.
//   - the admin's config patches merged into one (`config-patch`), so the run keeps them.
//   - what it measured of each device (`measures`, measures.ts), so the next plan is not priced
//     from the devices' profiles.
// The writes are fenced by the lease, as the commit is: a node that no longer leads writes nothing.
// What comes back from Redis is parsed with a schema; a record that fails is logged and skipped.
import { HelloSchema, describeZodError } from '@fedbit/core';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigPatchSchema, type ConfigPatch } from '../config';
import { TokenHashSchema } from '../devices/join';
import type { Device, JoinRecord } from '../devices/registry';
import type { Coordinator } from '../round/coordinator';
import { readMeasures, type MeasureLog } from './measures';
import type { Leader, RedisStore } from './redis-store';

const DeviceIdSchema = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/);

export const JoinRecordSchema = HelloSchema.pick({ name: true, platform: true, backend: true, adapter: true, userAgent: true, telemetry: true })
  .extend({
    tokenHash: TokenHashSchema,
    seat: z.number().int().nonnegative(),
    shard: z.number().int().nonnegative(),
  })
  .strict();

/** What Redis keeps of a joined device: no token, only its hash. */
export function joinRecordOf(device: Device): string | null {
  if (device.tokenHash === null) return null;
  const record: JoinRecord = {
    tokenHash: device.tokenHash,
    seat: device.seat,
    shard: device.shard,
    name: device.name,
    platform: device.platform,
    backend: device.backend,
    telemetry: device.telemetry,
    ...(device.adapter ? { adapter: device.adapter } : {}),
    ...(device.userAgent !== undefined ? { userAgent: device.userAgent } : {}),
  };
  return JSON.stringify(record);
}

/** Records a join; false when `lease` no longer leads (nothing is written then). */
export async function recordJoin(store: RedisStore, lease: Leader, device: Device): Promise<boolean> {
  const record = joinRecordOf(device);
  return record === null ? true : store.putDevice(lease, device.id, record);
}

/** Every join record in Redis that parses; the others are logged and left out. */
export async function readJoinRecords(store: RedisStore, log: Logger): Promise<Map<string, JoinRecord>> {
  const records = new Map<string, JoinRecord>();
  let refused = 0;
  for (const [id, text] of Object.entries(await store.devices())) {
    let parsed: z.ZodSafeParseResult<z.infer<typeof JoinRecordSchema>> | null = null;
    try {
      parsed = DeviceIdSchema.safeParse(id).success ? JoinRecordSchema.safeParse(JSON.parse(text)) : null;
    } catch {
      parsed = null;
    }
    if (parsed?.success) records.set(id, parsed.data as JoinRecord);
    else if (refused++ < 10) log.warn({ key: store.key('devices'), id: id.slice(0, 80), reason: parsed ? parsed.error.issues[0]?.message : 'not a device id, or not JSON' }, 'device join record refused: that device joins as new');
  }
  return records;
}

export type Control = 'start' | 'pause' | 'stop';

/** The admin's last word on the run in Redis ('start', 'pause', 'stop'), or null when none was said (or it is not one of those). */
export async function readControl(store: RedisStore, log: Logger): Promise<Control | null> {
  const value = await store.control();
  if (value === null || value === 'start' || value === 'pause' || value === 'stop') return value;
  log.warn({ key: store.key('control'), value: value.slice(0, 80) }, 'run control in Redis is neither start, pause nor stop: ignored');
  return null;
}

/** The admin's config patches in Redis, merged into one, or null when there are none (or they are not a patch: logged). */
export async function readConfigPatch(store: RedisStore, log: Logger): Promise<ConfigPatch | null> {
  const text = await store.configPatch();
  if (text === null) return null;
  let reason: string;
  try {
    const parsed = ConfigPatchSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    reason = describeZodError(parsed.error).reason;
  } catch {
    reason = 'not JSON';
  }
  log.warn({ key: store.key('config-patch'), reason, value: text.slice(0, 80) }, 'config patch in Redis refused: the run keeps the shared config');
  return null;
}

/**
 * A new leader, before adopting the committed version: the config as the admin's patches left it
 * (first, so the adopted run is measured against its rounds). Returns the patch taken.
 */
export async function takeOverConfig(store: RedisStore, coordinator: Coordinator, log: Logger): Promise<ConfigPatch> {
  const patch = await readConfigPatch(store, log);
  if (!patch) return {};
  try {
    coordinator.applyPatch(patch, true);
    return patch;
  } catch (error) {
    log.warn({ key: store.key('config-patch'), reason: (error as Error).message }, 'config patch in Redis does not fit the shared config: the run keeps the shared config');
    return {};
  }
}

/**
 * A new leader, after adopting the committed version: the devices that joined since (unknown to the
 * checkpoint) and the run's paused, started or stopped state, as the last leader left them.
 */
export async function takeOverLeaderState(store: RedisStore, coordinator: Coordinator, log: Logger, measureLog: MeasureLog): Promise<{ devices: number; measured: number; control: Control | null }> {
  const [records, control, measures] = await Promise.all([readJoinRecords(store, log), readControl(store, log), readMeasures(store, log)]);
  const devices = coordinator.remember(records);
  const measured = coordinator.takeMeasures(measures);
  measureLog.reset(measures);
  if (control === 'pause') coordinator.pause();
  else if (control === 'start') coordinator.start();
  else if (control === 'stop') await coordinator.stop();
  return { devices, measured, control };
}
