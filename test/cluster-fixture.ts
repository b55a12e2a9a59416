// A cluster for a test (docs/SCALE.md, section 3): a real redis-server on a free port, a client and
// the cluster's store on it, and aggregator nodes as child processes sharing one run config and
// join code, each with its own run directory (and admin token) under one temporary folder.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { RedisStore, resolveRunConfig, type RunConfigInput } from '@fedbit/server';
import { startNode, startRedis, type NodeProcess, type RedisProcess } from '../apps/cli/src/bench/cluster-processes';
import { getJson, waitFor } from './helpers';

export const skipCluster = process.env.FEDBIT_SKIP_REDIS === '1';

export interface TestCluster {
  redis: RedisProcess;
  client: Redis;
  store: RedisStore;
  dir: string;
  joinCode: string;
  /** The nodes started so far, by id. */
  nodes: Record<string, NodeProcess>;
  /** Starts a node and waits until it has announced itself in Redis (after the first, it follows the leader). */
  start(nodeId: string): Promise<NodeProcess>;
  /** Starts node `nodeId` and waits until it holds the lease. */
  startLeader(nodeId: string): Promise<NodeProcess>;
  /** An admin request to a node, with that node's own admin token. */
  admin(node: NodeProcess, path: string, method: string, body: unknown): ReturnType<typeof getJson>;
  control(node: NodeProcess, action: 'start' | 'pause' | 'stop'): ReturnType<typeof getJson>;
  /** A node's GET /api/status (answered 200). */
  status(node: NodeProcess): Promise<any>;
  /** Stops every node, the client and redis-server. */
  stop(): Promise<void>;
}

/** A cluster named `name` (its keys and channels under fedbit:<name>) running `config`; no node yet. */
export async function testCluster(name: string, config: RunConfigInput, leaseMs = 2000): Promise<TestCluster> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const store = new RedisStore(client, `fedbit:${name}`);
  const dir = mkdtempSync(join(tmpdir(), `fedbit-${name}-`));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(resolveRunConfig(config)));
  const joinCode = `${name}code`;
  const nodes: Record<string, NodeProcess> = {};
  const admin = (node: NodeProcess, path: string, method: string, body: unknown) => {
    const token = readFileSync(join(dir, node.nodeId, 'admin-token'), 'utf8').trim();
    return getJson(`${node.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  };
  const cluster: TestCluster = {
    redis,
    client,
    store,
    dir,
    joinCode,
    nodes,
    async start(nodeId) {
      nodes[nodeId] = await startNode({ redis: redis.url, nodeId, configPath, joinCode, runDir: join(dir, nodeId), cluster: name, leaseMs });
      await waitFor(`${nodeId} is up`, async () => (await client.exists(store.key(`node:${nodeId}`))) === 1, 20_000);
      return nodes[nodeId];
    },
    async startLeader(nodeId) {
      const node = await cluster.start(nodeId);
      await waitFor(`${nodeId} leads`, async () => (await store.leader())?.nodeId === nodeId, 20_000);
      return node;
    },
    admin,
    control: (node, action) => admin(node, '/api/control', 'POST', { action }),
    async status(node) {
      const { status: code, body } = await getJson(`${node.url}/api/status`);
      expect(code).toBe(200);
      return body;
    },
    async stop() {
      await Promise.all(Object.values(nodes).map((n) => n.stop()));
      client.disconnect();
      await redis.stop();
    },
  };
  return cluster;
}
