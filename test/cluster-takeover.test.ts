// What a new leader of a cluster must carry over besides the committed version (docs/SCALE.md,
// section 3): the devices that joined after the last commit keep their identity (id, resume token,
// seat), a run paused by hand stays paused, and any node's /api/status shows the cluster's view and
// says which node answered and which leads. A real redis-server on a free port, three nodes as child
// processes, devices on real Socket.IO connections.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceEvent, encodeUpdate, type Welcome } from '@fedbit/core';
import { type NodeProcess } from '../apps/cli/src/bench/cluster-processes';
import { skipCluster, testCluster, type TestCluster } from './cluster-fixture';
import { RawDevice, fastConfig, waitFor } from './helpers';

let cluster: TestCluster;
let nodes: TestCluster['nodes'];
const devices: Record<string, RawDevice> = {};
const welcomes: Record<string, Welcome> = {};
/** The node that leads after a is killed, and the one that follows it. */
let leader: NodeProcess;
let follower: NodeProcess;

async function joinDevice(name: string, node: NodeProcess, overrides = {}): Promise<Welcome> {
  const device = new RawDevice(node.url, cluster.joinCode);
  devices[name] = device;
  return device.join(name, overrides);
}

describe.skipIf(skipCluster)('a new leader of a cluster', () => {
  beforeAll(async () => {
    // Two devices a round, any one of them enough; eight shards, so a device's seat shows in its shard.
    cluster = await testCluster('takeover', fastConfig({ rounds: 5, devicesPerRound: 2, minDevices: 2, quorum: 1, deadlineS: 120, policy: { kind: 'fixed', bits: 8 } as never, dataset: { name: 'mnist', imageSize: 16, partition: 'iid', shards: 8 } }));
    nodes = cluster.nodes;
    await cluster.startLeader('a');
    await Promise.all([cluster.start('b'), cluster.start('c')]);
    // Round 1 with d0 (on a) and d1 (on b), committed.
    welcomes.d0 = await joinDevice('d0', nodes.a);
    welcomes.d1 = await joinDevice('d1', nodes.b);
    const length = welcomes.d0.paramCount;
    for (const name of ['d0', 'd1']) {
      const { task } = await devices[name].nextTask();
      const frame = encodeUpdate(Float32Array.from({ length }, (_, i) => Math.sin(i + name.length) * 1e-3), { bits: task.bits, round: task.round, seed: 3 });
      expect(await devices[name].send(DeviceEvent.update, { round: task.round, samples: 10, steps: 1, trainMs: 5, loss: 0.5, updateNormSq: 1 }, frame)).toEqual({ ok: true });
    }
    await waitFor('round 1 committed', async () => (await cluster.store.committedRound()) >= 1, 30_000);
    // Round 2 opens for d0 and d1, who never answer. The run is paused by hand on the leader: round 2 may finish, no round 3 starts.
    await waitFor('round 2 open', () => devices.d0.tasks.length >= 2, 30_000);
    const paused = await cluster.control(nodes.a, 'pause');
    expect(paused).toMatchObject({ status: 200, body: { ok: true, phase: 'paused' } });
    // After the last commit: d2 joins c, d3 joins a.
    welcomes.d2 = await joinDevice('d2', nodes.c);
    welcomes.d3 = await joinDevice('d3', nodes.a);
    nodes.a.kill();
    const next = await waitFor('b or c takes over', async () => {
      const seen = await cluster.store.leader();
      return seen && seen.nodeId !== 'a' ? seen.nodeId : null;
    }, 20_000);
    leader = nodes[next];
    follower = nodes[next === 'b' ? 'c' : 'b'];
    // The new leader has read the committed state and the surviving nodes have registered their devices with it again.
    await waitFor('d1 and d2 registered with the new leader', async () => {
      const names = (await cluster.status(leader)).devices.filter((d: { state: string }) => d.state !== 'offline' && d.state !== 'left').map((d: { name: string }) => d.name);
      return names.includes('d1') && names.includes('d2');
    }, 30_000);
  }, 240_000);

  afterAll(async () => {
    Object.values(devices).forEach((d) => d.close());
    await cluster?.stop();
  });

  it('knows the devices that joined after the last commit: same id, resume token and seat', async () => {
    const seen = await cluster.status(leader);
    const byId = new Map<string, { name: string; state: string }>(seen.devices.map((d: { id: string; name: string; state: string }) => [d.id, d]));
    // d2 stayed connected to c: c registered it again under its own id.
    expect(byId.get(welcomes.d2.deviceId)?.name).toBe('d2');
    expect(['offline', 'left']).not.toContain(byId.get(welcomes.d2.deviceId)?.state);
    expect(seen.devices.filter((d: { name: string }) => d.name === 'd2')).toHaveLength(1);
    // d3's node died: it says hello to the new leader's node with its id and token and is the same device, on the same shard.
    devices.d3.close();
    const again = await joinDevice('d3', leader, { deviceId: welcomes.d3.deviceId, resumeToken: welcomes.d3.resumeToken });
    expect(again.deviceId).toBe(welcomes.d3.deviceId);
    expect(again.resumeToken).toBeUndefined();
    expect(again.shard.index).toBe(welcomes.d3.shard.index);
    // A device new to the run takes the next seat, not one a device that joined after the commit holds.
    const taken = ['d0', 'd1', 'd2', 'd3'].map((name) => welcomes[name].shard.index);
    expect(new Set(taken).size).toBe(4);
    welcomes.d4 = await joinDevice('d4', follower);
    expect(taken).not.toContain(welcomes.d4.shard.index);
    // What Redis keeps of a device names its token's SHA-256, never the token.
    const kept = JSON.stringify(await cluster.client.hgetall(cluster.store.key('devices')));
    for (const name of ['d2', 'd3']) {
      expect(kept).not.toContain(welcomes[name].resumeToken);
      expect(kept).toContain(createHash('sha256').update(welcomes[name].resumeToken!).digest('hex'));
    }
  });

  it('keeps the run paused by hand on the old leader paused', async () => {
    const seen = await cluster.status(leader);
    expect(seen.phase).toBe('paused');
    expect(seen.currentRound).toBeNull();
    expect(seen.round).toBe(1);
    // Started again (through the follower: it hands the action to the leader), round 2 opens.
    const before = devices.d2.tasks.length + devices.d4.tasks.length + devices.d1.tasks.length;
    expect(await cluster.control(follower, 'start')).toMatchObject({ status: 200, body: { ok: true, phase: 'training' } });
    await waitFor('round 2 opens after the start', () => devices.d2.tasks.length + devices.d4.tasks.length + devices.d1.tasks.length > before, 30_000);
  });

  it('keeps the policy\'s planning and solve time in each committed round\'s summary', async () => {
    const committed = await cluster.store.committed(welcomes.d0.paramCount);
    const summary = committed!.summaries[0];
    expect(summary.solveS).toBeGreaterThan(0);
    expect(summary.planS).toBeGreaterThanOrEqual(summary.solveS!);
    expect(summary.planS).toBeLessThan(summary.wallS);
  });

  it('answers /api/status on a follower with the cluster\'s view, naming the node that answered and the leader', async () => {
    const seen = await waitFor('the follower shows the open round', async () => {
      const body = await cluster.status(follower);
      return body.currentRound ? body : null;
    }, 20_000);
    expect(seen.cluster).toMatchObject({ node: follower.nodeId, leader: leader.nodeId });
    expect(seen.phase).toBe('training');
    expect(seen.round).toBe(1);
    expect(seen.currentRound.round).toBe(2);
    // Devices connected to every live node, as the leader knows them.
    const connected = seen.devices.filter((d: { state: string }) => d.state !== 'offline' && d.state !== 'left').map((d: { name: string }) => d.name).sort();
    expect(connected).toEqual(['d1', 'd2', 'd3', 'd4']);
    const byNode = Object.fromEntries(seen.cluster.nodes.map((n: { node: string; devices: number }) => [n.node, n.devices]));
    expect(byNode[leader.nodeId] + byNode[follower.nodeId]).toBe(4);
  });
});
