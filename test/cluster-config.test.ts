// The admin's config patches and stop on a cluster (docs/SCALE.md, section 3): sent to a node that
// follows, they go to the leader, which checks a patch as one node does, records it in Redis under
// its lease and applies it; a new leader after the leader dies runs with the patched config, and a
// stop (also recorded) stops the run, under the next leader too. A real redis-server on a free
// port, three nodes as child processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess } from '../apps/cli/src/bench/cluster-processes';
import { skipCluster, testCluster, type TestCluster } from './cluster-fixture';
import { fastConfig, waitFor } from './helpers';

let cluster: TestCluster;
let nodes: TestCluster['nodes'];

/** The node that leads now (waiting for one that is not `not`), and one that follows it. */
async function roles(not?: string): Promise<{ leader: NodeProcess; follower: NodeProcess }> {
  const id = await waitFor('a leader', async () => {
    const seen = await cluster.store.leader();
    return seen && seen.nodeId !== not ? seen.nodeId : null;
  }, 20_000);
  const alive = Object.values(nodes).filter((n) => n.nodeId !== id && n.nodeId !== not && n.child.exitCode === null && n.child.signalCode === null);
  return { leader: nodes[id], follower: alive[0] };
}

describe.skipIf(skipCluster)('config patches and stop on a cluster', () => {
  beforeAll(async () => {
    cluster = await testCluster('config', fastConfig({ rounds: 5, devicesPerRound: 2, minDevices: 2, quorum: 1, deadlineS: 60, localSteps: 2 }));
    nodes = cluster.nodes;
    await cluster.startLeader('a');
    await Promise.all([cluster.start('b'), cluster.start('c')]);
  }, 120_000);

  afterAll(() => cluster?.stop());

  it('applies a patch sent to a follower on the leader, and keeps it under the next leader', async () => {
    const patched = await cluster.admin(nodes.b, '/api/config', 'PATCH', { rounds: 9, deadlineS: 33, localSteps: 3 });
    expect(patched).toMatchObject({ status: 200, body: { ok: true, config: { rounds: 9, deadlineS: 33, localSteps: 3 } } });
    const onLeader = await cluster.status(nodes.a);
    expect(onLeader.cluster.node).toBe('a');
    expect(onLeader.rounds).toBe(9);
    expect(onLeader.config).toMatchObject({ deadlineS: 33, localSteps: 3, quorum: 1 });
    // A patch that does not fit the run is refused on the follower with the single node's reason, and changes nothing.
    const refused = await cluster.admin(nodes.c, '/api/config', 'PATCH', { quorum: 50 });
    expect(refused).toEqual({ status: 400, body: { error: 'quorum (50) must be at most devicesPerRound (2)' } });
    const bad = await cluster.admin(nodes.c, '/api/config', 'PATCH', { rounds: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('rounds');
    expect((await cluster.status(nodes.a)).config).toMatchObject({ devicesPerRound: 2, quorum: 1 });
    // A second patch adds to the first.
    expect((await cluster.admin(nodes.c, '/api/config', 'PATCH', { devicesPerRound: 3 })).status).toBe(200);
    // The leader dies: the next one runs with every patch.
    nodes.a.kill();
    const { leader } = await roles('a');
    const after = await waitFor('the new leader\'s view', async () => {
      const body = await cluster.status(leader);
      return body.cluster.leader === leader.nodeId && !body.cluster.note ? body : null;
    }, 20_000);
    expect(after.config).toMatchObject({ deadlineS: 33, localSteps: 3, devicesPerRound: 3, quorum: 1 });
    expect(after.rounds).toBe(9);
  }, 90_000);

  it('stops the run on a stop sent to a follower, under the next leader too', async () => {
    const { leader, follower } = await roles('a');
    expect(['training', 'waiting']).toContain((await cluster.status(leader)).phase);
    expect(await cluster.admin(follower, '/api/control', 'POST', { action: 'stop' })).toMatchObject({ status: 200, body: { ok: true, phase: 'stopped' } });
    expect((await cluster.status(leader)).phase).toBe('stopped');
    // A start after the stop does not start it again.
    expect(await cluster.admin(follower, '/api/control', 'POST', { action: 'start' })).toMatchObject({ status: 200, body: { phase: 'stopped' } });
    leader.kill();
    const last = await roles(leader.nodeId);
    expect(last.leader.nodeId).toBe(follower.nodeId);
    const view = await waitFor('the last node\'s view as leader', async () => {
      const body = await cluster.status(follower);
      return body.cluster.leader === follower.nodeId ? body : null;
    }, 20_000);
    expect(view.phase).toBe('stopped');
  }, 90_000);
});
