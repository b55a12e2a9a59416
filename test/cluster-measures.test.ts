// What a cluster's leader measured of a device survives the leader (docs/SCALE.md, section 3): the
// link rates its telemetry timed, its step time and its last update's statistics are written to
// Redis, under the lease, in batches at each round's opening and commit (cluster/measures.ts), and
// a new leader plans with them instead of the device's profile. The checkpoint keeps only the
// uplink rate as of the last commit. A real redis-server on a free port, two nodes as child
// processes, a device on a real Socket.IO connection to the node that follows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceEvent, encodeUpdate, type Welcome } from '@fedbit/core';
import { type NodeProcess } from '../apps/cli/src/bench/cluster-processes';
import { skipCluster, testCluster, type TestCluster } from './cluster-fixture';
import { RawDevice, fastConfig, getJson, waitFor } from './helpers';

const TELEMETRY = { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' } as const;

let cluster: TestCluster;
let nodes: TestCluster['nodes'];
let device: RawDevice;
let welcome: Welcome;

/** The device as a node's /api/status shows it. */
async function shown(node: NodeProcess): Promise<{ state: string; uplinkBps: number | null; downlinkBps: number | null } | undefined> {
  const { body } = await getJson(`${node.url}/api/status`);
  return body.devices?.find((d: { id: string }) => d.id === welcome.deviceId);
}

describe.skipIf(skipCluster)('a device\'s measures on a cluster', () => {
  beforeAll(async () => {
    cluster = await testCluster('measures', fastConfig({ rounds: 5, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 120, policy: { kind: 'fixed', bits: 8 } as never }));
    nodes = cluster.nodes;
    await cluster.startLeader('a');
    await cluster.start('b');
  }, 120_000);

  afterAll(async () => {
    device?.close();
    await cluster?.stop();
  });

  it('gives a new leader the link rates measured since the last commit, not the profile\'s', async () => {
    device = new RawDevice(nodes.b.url, cluster.joinCode);
    welcome = await device.join('measured');
    // Round 1: the device times its download, trains, uploads; the run is paused so that no round 2 opens at once.
    const first = await device.nextTask();
    expect(await cluster.control(nodes.a, 'pause')).toMatchObject({ status: 200 });
    expect(await device.send(DeviceEvent.telemetry, { ...TELEMETRY, lastDownload: { bytes: first.task.model.bytes, ms: 40 } })).toEqual({ ok: true });
    const frame = encodeUpdate(Float32Array.from({ length: welcome.paramCount }, (_, i) => Math.sin(i) * 1e-3), { bits: first.task.bits, round: first.task.round, seed: 5 });
    expect(await device.send(DeviceEvent.update, { round: first.task.round, samples: 10, steps: first.task.localSteps, trainMs: 30, loss: 0.5, updateNormSq: 2.5 }, frame)).toEqual({ ok: true });
    await waitFor('round 1 committed', async () => (await cluster.store.committedRound()) >= 1, 30_000);
    // After the commit: the upload's timing and a slower download.
    expect(await device.send(DeviceEvent.telemetry, { ...TELEMETRY, lastUpload: { bytes: frame.byteLength, ms: 25 }, lastDownload: { bytes: first.task.model.bytes, ms: 400 } })).toEqual({ ok: true });
    const before = await waitFor('the leader\'s view of both rates', async () => {
      const seen = await shown(nodes.a);
      return seen?.uplinkBps && seen.downlinkBps && seen.downlinkBps < (first.task.model.bytes * 8) / 0.04 ? seen : null;
    }, 10_000);
    // Round 2 opens: what was measured since round 1 goes to Redis with it.
    expect(await cluster.control(nodes.a, 'start')).toMatchObject({ status: 200 });
    await device.nextTask();
    await waitFor('the measures in Redis', async () => {
      const text = await cluster.client.hget(cluster.store.key('measures'), welcome.deviceId);
      return text !== null && JSON.parse(text).downlinkBps === before.downlinkBps;
    }, 10_000);
    nodes.a.kill();
    await waitFor('b leads', async () => (await cluster.store.leader())?.nodeId === 'b', 20_000);
    const after = await waitFor('the device registered with b', async () => {
      const seen = await shown(nodes.b);
      return seen && seen.state !== 'offline' && seen.state !== 'left' ? seen : null;
    }, 20_000);
    expect(after.uplinkBps).toBe(before.uplinkBps);
    expect(after.downlinkBps).toBe(before.downlinkBps);
    // The update's statistics are in the record too (the on-demand policy's inputs).
    expect(JSON.parse((await cluster.client.hget(cluster.store.key('measures'), welcome.deviceId))!)).toMatchObject({ updateNormSq: 2.5, stepMs: 30 / first.task.localSteps });
  }, 120_000);
});
