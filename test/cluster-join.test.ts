// A device that says hello to a cluster between two leaders (docs/SCALE.md, section 3): the node it
// reached refuses the join with 'unavailable' while the lease in Redis names a leader that does not
// answer; the device runtime (the one browsers run) joins again a few seconds later instead of
// giving up, and is in once a node leads. Real redis-server, a real node process, a real runtime.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { simulatedDevice, type RuntimeEvent } from '@fedbit/client/node';
import { RedisStore, resolveRunConfig } from '@fedbit/server';
import { startNode, startRedis, type NodeProcess, type RedisProcess } from '../apps/cli/src/bench/cluster-processes';
import { fastConfig, waitFor } from './helpers';

const skip = process.env.FEDBIT_SKIP_REDIS === '1';
let redis: RedisProcess | undefined;
let client: Redis | undefined;
let node: NodeProcess | undefined;

afterAll(async () => {
  await node?.stop();
  client?.disconnect();
  await redis?.stop();
});

describe.skipIf(skip)('joining a cluster between leaders', () => {
  it('a join refused unavailable is tried again, and succeeds once a node leads', async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    const store = new RedisStore(client, 'fedbit:join');
    // The lease names node z, which does not exist: the node we start follows it and cannot reach it.
    await client.set(store.key('term'), '7');
    await client.set(store.key('leader'), 'z:7', 'PX', 120_000);
    const dir = mkdtempSync(join(tmpdir(), 'fedbit-join-'));
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(resolveRunConfig(fastConfig({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1 }))));
    node = await startNode({ redis: redis.url, nodeId: 'b', configPath, joinCode: 'joincode', runDir: join(dir, 'b'), cluster: 'join' });

    const device = simulatedDevice({ url: node.url, joinCode: 'joincode', profile: { name: 'laptop', deviceClass: 'laptop', battery: 0.9, charging: true, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.1 } });
    const events: RuntimeEvent[] = [];
    void (async () => {
      for await (const e of device.events) events.push(e);
    })();
    void device.start();
    try {
      await waitFor('a join refused unavailable', () => events.some((e) => e.type === 'status' && /joining again/.test(e.message ?? '')), 40_000);
      expect(events.some((e) => e.type === 'joined')).toBe(false);
      expect(events.some((e) => e.type === 'error')).toBe(false);
      // The lease ends (the leader is gone for good): node b takes it, and the device's next try joins.
      await client.del(store.key('leader'));
      await waitFor('b leads', async () => (await store.leader())?.nodeId === 'b', 20_000);
      await waitFor('the device joined', () => events.some((e) => e.type === 'joined'), 40_000);
      expect(events.some((e) => e.type === 'error')).toBe(false);
    } finally {
      device.stop();
    }
  }, 150_000);
});
