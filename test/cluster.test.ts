// Several aggregator nodes as one (issue 17, item 3; docs/SCALE.md, section 3): a real redis-server
// on a free port, three nodes as child processes (`npm start -- --redis URL --node-id N`), devices on
// real Socket.IO connections to different nodes. A round merges the devices of every node into the
// same model one process makes of the same updates; a follower killed with SIGKILL mid-round costs
// only its own devices' updates; the leader killed mid-round is replaced and no committed round is
// lost. What Redis holds is read back with the nodes' own reader (RedisStore).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceEvent, ServerEvent, decodeUpdate, encodeUpdate, type Task } from '@fedbit/core';
import type { RunConfigInput } from '@fedbit/server';
import { skipCluster, testCluster, type TestCluster } from './cluster-fixture';
import { RawDevice, fastConfig, maxRelativeError, startTestServer, waitFor } from './helpers';

// Six devices, two per node; a round needs all six to start, then four (the quorum) to commit.
const CONFIG: RunConfigInput = fastConfig({ rounds: 4, devicesPerRound: 6, minDevices: 6, quorum: 2, deadlineS: 120, policy: { kind: 'fixed', bits: 8 } as never, dataset: { name: 'mnist', imageSize: 16, partition: 'iid', shards: 6 } });

let cluster: TestCluster;
const devices: RawDevice[] = [];
const deviceNode: string[] = [];

/** Device k's update for a round: distinct per device and round, small enough that no clipping applies. */
function updateOf(k: number, round: number, length: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin(i * 0.013 + k * 1.7 + round) * 1e-3 * (1 + k / 5));
}

async function sendUpdate(k: number, task: Task, length: number): Promise<unknown> {
  const frame = encodeUpdate(updateOf(k, task.round, length), { bits: task.bits, round: task.round, seed: 11 * k + task.round });
  return devices[k].send(DeviceEvent.update, { round: task.round, samples: 10, steps: 1, trainMs: 5, loss: 0.5, updateNormSq: 1 }, frame);
}

async function committed(length: number) {
  return cluster.store.committed(length);
}

describe.skipIf(skipCluster)('a cluster of three aggregator nodes on Redis', () => {
  let length = 0;

  beforeAll(async () => {
    // the nodes' default lease (5 s)
    cluster = await testCluster('test', CONFIG, 5000);
    // a first, so it takes the lease; then b and c.
    await cluster.startLeader('a');
    await Promise.all([cluster.start('b'), cluster.start('c')]);
    for (const [k, node] of ['a', 'a', 'b', 'b', 'c', 'c'].entries()) {
      const device = new RawDevice(cluster.nodes[node].url, cluster.joinCode);
      devices.push(device);
      deviceNode.push(node);
      const welcome = await device.join(`d${k}`);
      length = welcome.paramCount;
    }
  });

  afterAll(async () => {
    devices.forEach((d) => d.close());
    await cluster?.stop();
  });

  it('merges the devices of every node into the model one process makes of the same updates', async () => {
    const tasks = await Promise.all(devices.map((d) => d.nextTask()));
    expect(tasks.every(({ task }) => task.round === 1)).toBe(true);
    // Every device hears the committed round, from the node it is connected to.
    const heard = devices.map((d) => new Promise<{ round: number }>((resolve) => d.socket.once(ServerEvent.summary, resolve)));
    const replies = await Promise.all(tasks.map(({ task }, k) => sendUpdate(k, task, length)));
    expect(replies).toEqual(Array(6).fill({ ok: true }));
    const after = await waitFor('round 1 committed in Redis', async () => {
      const c = await committed(length);
      return c && c.checkpoint.state.round >= 1 ? c : null;
    }, 30_000);
    expect(after.summaries[0].accepted).toBe(6);
    expect((await Promise.all(heard)).map((summary) => summary.round)).toEqual(Array(6).fill(1));

    // The same six updates, at the same precision, through one process (same config, same seats, same shards).
    const reference = await startTestServer(CONFIG);
    const one: RawDevice[] = [];
    try {
      for (let k = 0; k < 6; k++) {
        one.push(new RawDevice(reference.url, reference.joinCode));
        await one[k].join(`d${k}`);
      }
      const oneTasks = await Promise.all(one.map((d) => d.nextTask()));
      await Promise.all(
        oneTasks.map(({ task }, k) =>
          one[k].send(DeviceEvent.update, { round: 1, samples: 10, steps: 1, trainMs: 5, loss: 0.5, updateNormSq: 1 }, encodeUpdate(updateOf(k, 1, length), { bits: task.bits, round: 1, seed: 11 * k + 1 })),
        ),
      );
      await waitFor('the one-process round', () => reference.coordinator.completed >= 1, 30_000);
      const expected = Float32Array.from(reference.coordinator.global);
      const initial = decodeUpdate((await reference.coordinator.models.find(0))[0].frame);
      expect(maxRelativeError(expected, initial)).toBeGreaterThan(1e-4);
      // The updates moved the model, and the cluster moved it to the same place (float64 partial sums added in another order).
      expect(maxRelativeError(after.checkpoint.weights, expected)).toBeLessThan(1e-6);
      const differing = after.checkpoint.weights.reduce((n, w, i) => n + (w !== expected[i] ? 1 : 0), 0);
      if (process.env.FEDBIT_CLUSTER_REPORT) process.stderr.write(`cluster vs one process: ${differing} of ${length} weights differ in their last bit\n`);
      expect(differing).toBeLessThanOrEqual(Math.ceil(length * 1e-3));
    } finally {
      one.forEach((d) => d.close());
      await reference.close();
    }
  });

  it('refuses a round plan from a node that does not hold the lease', async () => {
    await waitFor('round 2 reaches b\'s devices', () => devices[2].tasks.length >= 2, 30_000);
    const leader = await cluster.store.leader();
    expect(leader?.nodeId).toBe('a');
    // Forged plans for round 9 naming d2 (on follower b): one from c with a's term, one from a with a later term, one malformed.
    const deviceId = devices[2].welcome!.deviceId;
    const plan = { kind: 'round-open', round: 9, deadlineAt: Date.now() + 60_000, model: { version: 8, sha256: '0'.repeat(64), bytes: 100 }, clipNorm: null, length, slots: [{ deviceId, bits: 8, steps: 1, weight: 1 }] };
    await cluster.client.publish('fedbit:test:bus:all', JSON.stringify({ ...plan, from: 'c', term: leader!.term }));
    await cluster.client.publish('fedbit:test:bus:all', JSON.stringify({ ...plan, from: 'a', term: leader!.term + 1 }));
    await cluster.client.publish('fedbit:test:bus:all', '{"kind":"round-open","from":"a"}');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // b still holds round 2 (the round it was told of by the leader): it refuses round 9 itself, without asking the leader.
    const reply = await sendUpdate(2, { round: 9, bits: 8 } as Task, length);
    expect(reply).toMatchObject({ ok: false, code: 'stale-round' });
    expect((reply as { reason: string }).reason).toContain('the open round is 2');
    expect((reply as { reason: string }).reason).toContain('on this node');
  });

  it('commits the round without a follower killed with SIGKILL mid-round, leaving out only its devices', async () => {
    const tasks = await Promise.all(devices.map((d) => d.nextTask()));
    expect(tasks.every(({ task }) => task.round === 2)).toBe(true);
    // Node b's devices upload (admitted by the leader, merged on b), then b dies before the round closes.
    for (const k of [2, 3]) expect(await sendUpdate(k, tasks[k].task, length)).toEqual({ ok: true });
    cluster.nodes.b.kill();
    for (const k of [0, 1, 4, 5]) expect(await sendUpdate(k, tasks[k].task, length)).toEqual({ ok: true });
    const after = await waitFor('round 2 committed', async () => {
      const c = await committed(length);
      return c && c.checkpoint.state.round >= 2 ? c : null;
    }, 40_000);
    const summary = after.summaries[1];
    expect(summary.accepted).toBe(4);
    const status = Object.fromEntries(summary.devices.map((d) => [d.name, d.status]));
    expect(status).toEqual({ d0: 'accepted', d1: 'accepted', d2: 'missed', d3: 'missed', d4: 'accepted', d5: 'accepted' });
  });

  it('replaces a leader killed with SIGKILL mid-round, losing no committed round', async () => {
    const live = [0, 1, 4, 5];
    const tasks = await Promise.all(live.map((k) => devices[k].nextTask()));
    expect(tasks.every(({ task }) => task.round === 3)).toBe(true);
    // One of c's devices uploads to the round the leader holds; then the leader dies.
    expect(await sendUpdate(4, tasks[2].task, length)).toEqual({ ok: true });
    const before = await committed(length);
    cluster.nodes.a.kill();
    await waitFor('c takes over', async () => (await cluster.store.leader())?.nodeId === 'c', 20_000);
    // c resumes from round 2 in Redis and opens round 3 again for the devices it holds.
    const again = await Promise.all([4, 5].map((k) => devices[k].nextTask(30_000)));
    expect(again.map(({ task }) => task.round)).toEqual([3, 3]);
    for (const [i, k] of [4, 5].entries()) expect(await sendUpdate(k, again[i].task, length)).toEqual({ ok: true });
    const after = await waitFor('round 3 committed by c', async () => {
      const c = await committed(length);
      return c && c.checkpoint.state.round >= 3 ? c : null;
    }, 40_000);
    // Every round committed before is still there, unchanged, and round 3 follows it.
    expect(after.summaries.map((s) => s.round)).toEqual([1, 2, 3]);
    expect(after.summaries.slice(0, 2)).toEqual(before!.summaries);
    expect(after.summaries[2].accepted).toBe(2);
  });

});
