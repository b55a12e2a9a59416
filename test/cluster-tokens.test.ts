// A device's resume token never crosses Redis on a cluster (docs/SECURITY.md): the node a device is
// connected to hashes the token its hello presents and draws the token of a device new to the run;
// the leader gets the hashes only. A raw Redis client subscribed to every channel of the cluster
// (its bus and Socket.IO's adapter) sees every message while a device joins through a follower and
// joins again with its token, then with a wrong one. A real redis-server on a free port, two nodes
// as child processes, devices on real Socket.IO connections.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../packages/server/src/devices/join';
import { type NodeProcess } from '../apps/cli/src/bench/cluster-processes';
import { skipCluster, testCluster, type TestCluster } from './cluster-fixture';
import { RawDevice, fastConfig } from './helpers';

let cluster: TestCluster;
let spy: Redis;
const devices: RawDevice[] = [];
/** Every message published on the cluster's channels, as bytes (the adapter's are binary). */
const published: Buffer[] = [];

function device(node: NodeProcess): RawDevice {
  const d = new RawDevice(node.url, cluster.joinCode);
  devices.push(d);
  return d;
}

function seen(text: string): boolean {
  return published.some((message) => message.includes(Buffer.from(text)));
}

describe.skipIf(skipCluster)('resume tokens on a cluster', () => {
  beforeAll(async () => {
    // Two devices a round: the one device of this test never starts a round.
    cluster = await testCluster('tokens', fastConfig({ rounds: 1, devicesPerRound: 2, minDevices: 2, quorum: 1 }));
    spy = new Redis(cluster.redis.url);
    spy.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => void published.push(message));
    await spy.psubscribe('fedbit:tokens:*');
    await cluster.startLeader('a');
    await cluster.start('b');
  }, 120_000);

  afterAll(async () => {
    devices.forEach((d) => d.close());
    spy?.disconnect();
    await cluster?.stop();
  });

  it('forwards joins through a follower with the token\'s SHA-256 only, and the leader checks the token by it', async () => {
    const follower = cluster.nodes.b;
    const first = await device(follower).join('tokened-device');
    const token = first.resumeToken!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    devices[0].close();
    // Again with its id and token, through the follower: the same device.
    const again = await device(follower).join('tokened-device', { deviceId: first.deviceId, resumeToken: token });
    expect(again.deviceId).toBe(first.deviceId);
    expect(again.resumeToken).toBeUndefined();
    devices[1].close();
    // With its id and a wrong token: a new device, with a token of its own.
    const wrong = await device(follower).join('tokened-device', { deviceId: first.deviceId, resumeToken: 'W'.repeat(32) });
    expect(wrong.deviceId).not.toBe(first.deviceId);
    expect(wrong.resumeToken).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    // The forwarded joins crossed Redis (the spy heard them), with the hashes and never a token.
    expect(seen('"kind":"join"')).toBe(true);
    for (const secret of [token, 'W'.repeat(32), wrong.resumeToken!]) expect(seen(secret), 'a resume token published on Redis').toBe(false);
    expect(seen(tokenHash(token))).toBe(true);
    // The leader's record of the device names the hash too.
    expect(await cluster.client.hget(cluster.store.key('devices'), first.deviceId)).toContain(tokenHash(token));
  }, 60_000);
});
