import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../config';
import { clusterConfigProblem } from './config-fit';
import { ClusterNode } from './node';

const log = pino({ level: 'silent' });

describe('joining a cluster', () => {
  it('takes synchronous FedAvg and FedNova runs, and names everything else a config asks that a cluster cannot do', () => {
    expect(clusterConfigProblem(resolveRunConfig({ mode: 'sync' }))).toBeNull();
    expect(clusterConfigProblem(resolveRunConfig({ mode: 'sync', aggregation: { rule: 'fednova' } }))).toBeNull();
    const problem = clusterConfigProblem(resolveRunConfig({ mode: 'async', reproducible: true, aggregation: { rule: 'median' } }));
    expect(problem).toContain('"mode": "async"');
    expect(problem).toContain('"reproducible": true');
    expect(problem).toContain('the median rule');
    expect(problem).toContain('without --redis');
  });

  it('refuses a bad node id, cluster name, lease or URL, and an unreachable Redis, saying what was expected', async () => {
    await expect(ClusterNode.connect({ redis: 'redis://127.0.0.1:1', nodeId: 'a b' }, log)).rejects.toThrow(/node id "a b": letters, digits/);
    await expect(ClusterNode.connect({ redis: 'redis://127.0.0.1:1', nodeId: 'a', name: 'x:y' }, log)).rejects.toThrow(/cluster name/);
    await expect(ClusterNode.connect({ redis: 'redis://127.0.0.1:1', nodeId: 'a', leaseMs: 10 }, log)).rejects.toThrow(/lease of 10 ms/);
    await expect(ClusterNode.connect({ redis: 'http://127.0.0.1:1', nodeId: 'a' }, log)).rejects.toThrow(/redis:\/\/ or rediss:\/\//);
    await expect(ClusterNode.connect({ redis: 'not a url', nodeId: 'a' }, log)).rejects.toThrow(/is not a URL/);
    await expect(ClusterNode.connect({ redis: 'redis://127.0.0.1:1', nodeId: 'a' }, log)).rejects.toThrow(/cannot reach Redis at redis:\/\/127.0.0.1:1/);
  });
});
