// What a cluster's leader measured of a device survives the leader (docs/SCALE.md, section 3): the
// link rates its telemetry timed, its step time and its last update's statistics are written to
// Redis, under the lease, in batches at each round's opening and commit (cluster/measures.ts), and
// a new leader plans with them instead of the device's profile. The checkpoint keeps only the
// uplink rate as of the last commit. A real redis-server on a free port, two nodes as child
// processes, a device on a real Socket.IO connection to the node that follows.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceEvent, encodeUpdate, type Welcome } from '@fedbit/core';
import { RedisStore, resolveRunConfig } from '@fedbit/server';
import { startNode, startRedis, type NodeProcess, type RedisProcess } from '../apps/cli/src/bench/cluster-processes';
import { RawDevice, fastConfig, getJson, waitFor } from './helpers';

const skip = process.env.FEDBIT_SKIP_REDIS === '1';
const JOIN_CODE = 'measurecode';
const TELEMETRY = { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' } as const;

let redis: RedisProcess;
let client: Redis;
let store: RedisStore;
let dir: string;
const nodes: Record<string, NodeProcess> = {};
let device: RawDevice;
let welcome: Welcome;

function control(node: NodeProcess, action: 'start' | 'pause') {
  const token = readFileSync(join(dir, node.nodeId, 'admin-token'), 'utf8').trim();
  return getJson(`${node.url}/api/control`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ action }) });
}

/** The device as a node's /api/status shows it. */
async function shown(node: NodeProcess): Promise<{ state: string; uplinkBps: number | null; downlinkBps: number | null } | undefined> {
  const { body } = await getJson(`${node.url}/api/status`);
  return body.devices?.find((d: { id: string }) => d.id === welcome.deviceId);
}

describe.skipIf(skip)('a device\'s measures on a cluster', () => {
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    store = new RedisStore(client, 'fedbit:measures');
    dir = mkdtempSync(join(tmpdir(), 'fedbit-measures-'));
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(resolveRunConfig(fastConfig({ rounds: 5, devicesPerRound: 1, minDevices: 1, quorum: 1, deadlineS: 120, policy: { kind: 'fixed', bits: 8 } as never }))));
    const start = (nodeId: string) => startNode({ redis: redis.url, nodeId, configPath, joinCode: JOIN_CODE, runDir: join(dir, nodeId), cluster: 'measures', leaseMs: 2000 });
    nodes.a = await start('a');
    await waitFor('a leads', async () => (await store.leader())?.nodeId === 'a', 20_000);
    nodes.b = await start('b');
    await waitFor('b is up', async () => (await client.exists(store.key('node:b'))) === 1, 20_000);
  }, 120_000);

  afterAll(async () => {
    device?.close();
    await Promise.all(Object.values(nodes).map((n) => n.stop()));
    client?.disconnect();
    await redis?.stop();
  });

  it('gives a new leader the link rates measured since the last commit, not the profile\'s', async () => {
    device = new RawDevice(nodes.b.url, JOIN_CODE);
    welcome = await device.join('measured');
    // Round 1: the device times its download, trains, uploads; the run is paused so that no round 2 opens at once.
    const first = await device.nextTask();
    expect(await control(nodes.a, 'pause')).toMatchObject({ status: 200 });
    expect(await device.send(DeviceEvent.telemetry, { ...TELEMETRY, lastDownload: { bytes: first.task.model.bytes, ms: 40 } })).toEqual({ ok: true });
    const frame = encodeUpdate(Float32Array.from({ length: welcome.paramCount }, (_, i) => Math.sin(i) * 1e-3), { bits: first.task.bits, round: first.task.round, seed: 5 });
    expect(await device.send(DeviceEvent.update, { round: first.task.round, samples: 10, steps: first.task.localSteps, trainMs: 30, loss: 0.5, updateNormSq: 2.5 }, frame)).toEqual({ ok: true });
    await waitFor('round 1 committed', async () => (await store.committedRound()) >= 1, 30_000);
    // After the commit: the upload's timing and a slower download.
    expect(await device.send(DeviceEvent.telemetry, { ...TELEMETRY, lastUpload: { bytes: frame.byteLength, ms: 25 }, lastDownload: { bytes: first.task.model.bytes, ms: 400 } })).toEqual({ ok: true });
    const before = await waitFor('the leader\'s view of both rates', async () => {
      const seen = await shown(nodes.a);
      return seen?.uplinkBps && seen.downlinkBps && seen.downlinkBps < (first.task.model.bytes * 8) / 0.04 ? seen : null;
    }, 10_000);
    // Round 2 opens: what was measured since round 1 goes to Redis with it.
    expect(await control(nodes.a, 'start')).toMatchObject({ status: 200 });
    await device.nextTask();
    await waitFor('the measures in Redis', async () => {
      const text = await client.hget(store.key('measures'), welcome.deviceId);
      return text !== null && JSON.parse(text).downlinkBps === before.downlinkBps;
    }, 10_000);
    nodes.a.kill();
    await waitFor('b leads', async () => (await store.leader())?.nodeId === 'b', 20_000);
    const after = await waitFor('the device registered with b', async () => {
      const seen = await shown(nodes.b);
      return seen && seen.state !== 'offline' && seen.state !== 'left' ? seen : null;
    }, 20_000);
    expect(after.uplinkBps).toBe(before.uplinkBps);
    expect(after.downlinkBps).toBe(before.downlinkBps);
    // The update's statistics are in the record too (the on-demand policy's inputs).
    expect(JSON.parse((await client.hget(store.key('measures'), welcome.deviceId))!)).toMatchObject({ updateNormSq: 2.5, stepMs: 30 / first.task.localSteps });
  }, 120_000);
});
