// What a cluster's leader pays to keep its devices' measures in Redis (docs/SCALE.md, section 3;
// packages/server/src/cluster/measures.ts): one batch is a pass over every device known (which
// changed since the last write) and one fenced Lua script writing those. Measured for 10,000
// devices of which 0, 100 and 1,000 changed, against a redis-server of its own on a free port.
//   npm run bench:cluster-measures [-- --devices N]
import { Redis } from 'ioredis';
import { PROTOCOL_VERSION } from '@fedbit/core';
import { DeviceRegistry, MeasureLog, RedisStore } from '@fedbit/server';
import { startRedis } from './cluster-processes';

const at = process.argv.indexOf('--devices');
const devices = at > 0 ? Number(process.argv[at + 1]) : 10_000;
if (!Number.isInteger(devices) || devices < 1000) throw new Error(`--devices ${process.argv[at + 1]}: a whole number of at least 1000 expected`);

const redis = await startRedis();
const client = new Redis(redis.url);
try {
  const store = new RedisStore(client, 'fedbit:bench');
  const lease = { nodeId: 'a', term: await store.acquire('a', 600_000) };
  const registry = new DeviceRegistry();
  const telemetry = { battery: 0.9, charging: true, preference: 'balanced', deviceClass: 'laptop' } as const;
  for (let i = 0; i < devices; i++) {
    const device = registry.upsert(`device${String(i).padStart(6, '0')}`, { protocol: PROTOCOL_VERSION, name: `d${i}`, platform: 'node', backend: 'wasm', telemetry }, `c${i}`, i, i % 8);
    device.uplinkBps.add(1e6 + i);
    device.updateNormSq = i;
  }
  const log = new MeasureLog();
  let start = performance.now();
  const first = await log.flush(store, lease, registry);
  console.log(`first batch (every device): ${first} records in ${(performance.now() - start).toFixed(1)} ms`);
  for (const changed of [0, 100, 1000]) {
    const times: number[] = [];
    for (let rep = 0; rep < 5; rep++) {
      registry.all().slice(0, changed).forEach((device, k) => device.downlinkBps.add(2e6 + rep * 1000 + k));
      start = performance.now();
      const written = await log.flush(store, lease, registry);
      times.push(performance.now() - start);
      if (written !== changed) throw new Error(`wrote ${written} records, ${changed} changed`);
    }
    times.sort((a, b) => a - b);
    console.log(`${devices} devices, ${changed} changed: median ${times[2].toFixed(1)} ms a batch (min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)})`);
  }
  console.log(`Redis memory of the measures hash: ${((await client.memory('USAGE', store.key('measures'))) ?? 0) / 1e6} MB`);
} finally {
  client.disconnect();
  await redis.stop();
}
