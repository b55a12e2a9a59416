// What a new cluster leader reads back from Redis besides the commit (leader-state.ts): join records
// and the run's control word. A record that is not what a join writes is left out (that device joins
// as new) and logged; the writes are fenced by the lease. A real redis-server on a free port.
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '@fedbit/server';
import { readConfigPatch, readControl, readJoinRecords } from '../packages/server/src/cluster/leader-state';
import { readMeasures } from '../packages/server/src/cluster/measures';
import { startRedis, type RedisProcess } from '../apps/cli/src/bench/cluster-processes';

const skip = process.env.FEDBIT_SKIP_REDIS === '1';
let redis: RedisProcess;
let client: Redis;
let store: RedisStore;

const GOOD = { tokenHash: 'a'.repeat(64), seat: 3, shard: 3, name: 'phone', platform: 'browser', backend: 'webgl', telemetry: { battery: 0.5, charging: false, preference: 'balanced', deviceClass: 'phone' } };

/** A logger that keeps what it was told. */
function recorder() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

describe.skipIf(skip)('the join records and run control a new leader reads from Redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    store = new RedisStore(client, 'fedbit:records');
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('takes the records a join writes and leaves out, with the reason, any other', async () => {
    await client.hset(store.key('devices'), {
      goodDevice1: JSON.stringify(GOOD),
      notJson0001: '{"tokenHash":',
      plainToken1: JSON.stringify({ ...GOOD, tokenHash: 'the-resume-token-itself-000000' }),
      noSeat00001: JSON.stringify({ ...GOOD, seat: undefined }),
      extraField1: JSON.stringify({ ...GOOD, resumeToken: 'x'.repeat(32) }),
      'bad id!': JSON.stringify(GOOD),
    });
    const { log, lines } = recorder();
    const records = await readJoinRecords(store, log);
    expect([...records.keys()]).toEqual(['goodDevice1']);
    expect(records.get('goodDevice1')).toEqual(GOOD);
    expect(lines).toHaveLength(5);
    const reasons = Object.fromEntries(lines.map((l) => [l.id, String(l.reason)]));
    expect(reasons.notJson0001).toContain('not JSON');
    expect(reasons.plainToken1).toContain('SHA-256');
    expect(reasons['bad id!']).toContain('not a device id');
  });

  it('writes a record, the control word and the status only under the lease it names', async () => {
    const term = await store.acquire('a', 10_000);
    expect(term).toBeGreaterThan(0);
    expect(await store.putControl({ nodeId: 'b', term }, 'pause')).toBe(false);
    expect(await store.putDevice({ nodeId: 'a', term: term + 1 }, 'forgedDevice', JSON.stringify(GOOD))).toBe(false);
    expect(await store.putStatus({ nodeId: 'b', term }, '{}', 1000)).toBe(false);
    expect(await client.hexists(store.key('devices'), 'forgedDevice')).toBe(0);
    expect(await store.control()).toBeNull();
    expect(await store.putControl({ nodeId: 'a', term }, 'pause')).toBe(true);
    expect(await readControl(store, pino({ level: 'silent' }))).toBe('pause');
  });

  it('ignores a control word that is neither start nor pause', async () => {
    await client.set(store.key('control'), 'stop-everything');
    const { log, lines } = recorder();
    expect(await readControl(store, log)).toBeNull();
    expect(lines[0]?.value).toBe('stop-everything');
  });

  it('reads the config patch a leader recorded, writes it only under the lease, and leaves out one that is not a patch', async () => {
    const term = Number(await client.get(store.key('term')));
    expect(await store.putConfigPatch({ nodeId: 'b', term }, JSON.stringify({ rounds: 3 }))).toBe(false);
    expect(await store.configPatch()).toBeNull();
    expect(await store.putConfigPatch({ nodeId: 'a', term }, JSON.stringify({ rounds: 3, deadlineS: 9 }))).toBe(true);
    expect(await readConfigPatch(store, pino({ level: 'silent' }))).toEqual({ rounds: 3, deadlineS: 9 });
    for (const [text, reason] of [
      ['{"rounds":', 'not JSON'],
      [JSON.stringify({ rounds: 0 }), 'rounds'],
      [JSON.stringify({ seed: 4 }), 'seed'],
    ]) {
      await client.set(store.key('config-patch'), text);
      const { log, lines } = recorder();
      expect(await readConfigPatch(store, log)).toBeNull();
      expect(String(lines[0]?.reason)).toContain(reason);
    }
  });

  it('takes the measures a leader writes, only under the lease, and leaves out with the reason any other', async () => {
    const term = Number(await client.get(store.key('term')));
    const measured = { uplinkBps: 2e7, downlinkBps: 5e7, stepMs: 12.5, updateNormSq: 3, updateMaxAbs: 0.1, updateScaleSq: 0.02 };
    expect(await store.putMeasures({ nodeId: 'b', term }, [['forgedDevice', JSON.stringify(measured)]])).toBe(false);
    expect(await client.exists(store.key('measures'))).toBe(0);
    expect(await store.putMeasures({ nodeId: 'a', term }, [['goodDevice1', JSON.stringify(measured)], ['goodDevice2', JSON.stringify({ ...measured, uplinkBps: null, updateScaleSq: null })]])).toBe(true);
    await client.hset(store.key('measures'), {
      notJson0001: '{"uplinkBps":',
      negative001: JSON.stringify({ ...measured, downlinkBps: -1 }),
      missing0001: JSON.stringify({ ...measured, stepMs: undefined }),
      extraField1: JSON.stringify({ ...measured, energyJ: 4 }),
      'bad id!': JSON.stringify(measured),
    });
    const { log, lines } = recorder();
    const read = await readMeasures(store, log);
    expect([...read.keys()].sort()).toEqual(['goodDevice1', 'goodDevice2']);
    expect(read.get('goodDevice1')).toEqual(measured);
    expect(lines).toHaveLength(5);
    const reasons = Object.fromEntries(lines.map((l) => [l.id, String(l.reason)]));
    expect(reasons.notJson0001).toContain('not JSON');
    expect(reasons['bad id!']).toContain('not a device id');
  });
});
