// A device that says hello to a cluster between two leaders (docs/SCALE.md, section 3): the node it
// reached refuses the join with 'unavailable' while the lease in Redis names a leader that does not
// answer; the device runtime (the one browsers run) joins again a few seconds later instead of
// giving up, and is in once a node leads. Real redis-server, a real node process, a real runtime.
import { afterAll, describe, expect, it } from 'vitest';
import { simulatedDevice, type RuntimeEvent } from '@fedbit/client/node';
import { skipCluster, testCluster, type TestCluster } from './cluster-fixture';
import { fastConfig, waitFor } from './helpers';

let cluster: TestCluster | undefined;

afterAll(async () => {
  await cluster?.stop();
});

describe.skipIf(skipCluster)('joining a cluster between leaders', () => {
  it('a join refused unavailable is tried again, and succeeds once a node leads', async () => {
    // the nodes' default lease (5 s)
    cluster = await testCluster('join', fastConfig({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1 }), 5000);
    const { client, store } = cluster;
    // The lease names node z, which does not exist: the node we start follows it and cannot reach it.
    await client.set(store.key('term'), '7');
    await client.set(store.key('leader'), 'z:7', 'PX', 120_000);
    const node = await cluster.start('b');

    const device = simulatedDevice({ url: node.url, joinCode: cluster.joinCode, profile: { name: 'laptop', deviceClass: 'laptop', battery: 0.9, charging: true, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.1 } });
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
