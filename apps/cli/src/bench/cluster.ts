// Benchmark (not a test): three aggregator nodes on loopback sharing one redis-server (issue 17,
// item 3; docs/SCALE.md, section 3), each `npm start -- --redis URL --node-id N` in its own process,
// and thousands of lightweight replaying devices (replay-devices.ts: real Socket.IO connections,
// prepared updates, no tfjs) spread over the three. Rounds run; mid-round a follower is killed with
// SIGKILL, later the leader; the devices of a dead node join again on another one, as behind a load
// balancer. It checks that the round (or the next one) commits after each kill and that every round
// committed before a kill is still in Redis, unchanged, after it.
// `npm run bench:cluster [-- --devices 3000 --per-round 600 --rounds 6 --bits 4 --model tiny --json]`
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Bits, RoundSummary } from '@fedbit/core';
import { REPO_ROOT, RedisStore, resolveRunConfig } from '@fedbit/server';
import { parseFlags, wholeNumber } from '../args';
import { table } from '../report';
import { startNode, startRedis, type NodeProcess } from './cluster-processes';
import type { ReplayOptions } from './replay-devices';

const flags =
  parseFlags(
    process.argv.slice(2),
    {
      devices: { type: 'string', default: '3000', placeholder: 'n', description: 'replaying devices (real Socket.IO connections), spread over the three nodes' },
      'per-round': { type: 'string', default: '600', placeholder: 'n', description: 'devices picked per round' },
      rounds: { type: 'string', default: '6', placeholder: 'n', description: 'rounds to commit in all (at least 4: one before each kill, one after)' },
      bits: { type: 'string', default: '4', placeholder: 'n', description: 'update precision with --policy fixed: 1, 2, 4, 8, 16 or 32' },
      policy: { type: 'string', default: 'fixed', placeholder: 'fixed|on-demand', description: "fixed: every update at --bits; on-demand: the policy picks each device's precision from its trace" },
      model: { type: 'string', default: 'tiny', placeholder: 'tiny|small|default', description: 'model size (tiny: 75,589 parameters at 16x16)' },
      'lease-ms': { type: 'string', default: '5000', placeholder: 'ms', description: "the leader's lease (each node's --lease-ms)" },
      json: { type: 'boolean', description: 'end with one JSON line' },
    },
    z.object({
      devices: wholeNumber(3, 20000),
      'per-round': wholeNumber(3, 20000),
      rounds: wholeNumber(4, 100),
      bits: wholeNumber(1, 32).pipe(z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32)], { message: 'expected 1, 2, 4, 8, 16 or 32' })),
      model: z.enum(['tiny', 'small', 'default']),
      policy: z.enum(['fixed', 'on-demand']),
      'lease-ms': wholeNumber(300, 60000),
      json: z.boolean(),
    }),
    { usage: 'npm run bench:cluster --', summary: 'three aggregator nodes on Redis, thousands of replaying devices, a follower and then the leader killed mid-round', examples: ['npm run bench:cluster', 'npm run bench:cluster -- --devices 3000 --json', 'npm run bench:cluster -- --devices 10000 --per-round 1000 --policy on-demand --json'] },
  ) ?? process.exit(0);

const say = (text: string) => process.stderr.write(`bench:cluster: ${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const perRound = Math.min(flags['per-round'], flags.devices);
const dir = mkdtempSync(join(tmpdir(), 'fedbit-cluster-bench-'));
const config = resolveRunConfig({
  rounds: flags.rounds,
  devicesPerRound: perRound,
  minDevices: flags.devices,
  // A dead node's picked devices are missed for that round: a quarter of the picks is enough to commit.
  quorum: Math.max(1, Math.ceil(perRound / 4)),
  deadlineS: 120,
  localSteps: 1,
  dataset: { name: 'mnist', imageSize: flags.model === 'default' ? 28 : 16, shards: Math.min(flags.devices, 1000) },
  model: { size: flags.model },
  policy: (flags.policy === 'fixed' ? { kind: 'fixed', bits: flags.bits } : { kind: 'on-demand' }) as never,
  allowLowBattery: true,
  eval: { every: 0, final: false },
});
const configPath = join(dir, 'config.json');
writeFileSync(configPath, JSON.stringify(config));

const redis = await startRedis();
const client = new Redis(redis.url);
const store = new RedisStore(client, 'fedbit:bench');
const nodes = new Map<string, NodeProcess>();
const start = async (nodeId: string) => nodes.set(nodeId, await startNode({ redis: redis.url, nodeId, configPath, joinCode: 'benchcode', runDir: join(dir, nodeId), cluster: 'bench', leaseMs: flags['lease-ms'], logFile: join(dir, `${nodeId}.log`) }));
let replay: ReturnType<typeof spawn> | null = null;

async function shutdown(): Promise<void> {
  replay?.kill('SIGKILL');
  await Promise.all([...nodes.values()].map((n) => n.stop()));
  client.disconnect();
  await redis.stop();
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

const summaries = async (): Promise<RoundSummary[]> => (await client.lrange('fedbit:bench:summaries', 0, -1)).map((text) => JSON.parse(text) as RoundSummary);
const leaderId = async () => (await store.leader())?.nodeId ?? null;

/** The open round on the leader, once some of its updates are in and some are not: mid-round. */
async function midRound(): Promise<{ round: number; received: number; selected: number }> {
  return until(
    'a round half done on the leader',
    async () => {
      const id = await leaderId();
      const node = id ? nodes.get(id) : undefined;
      if (!node) return null;
      const status = (await (await fetch(`${node.url}/api/status`)).json().catch(() => null)) as { currentRound?: { round: number; received: number; selected: number } | null } | null;
      const open = status?.currentRound;
      return open && open.received > 0 && open.received < open.selected ? open : null;
    },
    120_000,
  );
}

/** Kills `nodeId` mid-round and waits for that round number to commit; counts the rounds committed before that changed or vanished. */
async function killMidRound(nodeId: string, why: string) {
  const open = await midRound();
  const before = await summaries();
  const wasLeader = (await leaderId()) === nodeId;
  const killedAt = performance.now();
  nodes.get(nodeId)!.kill();
  nodes.delete(nodeId);
  say(`${why}: node ${nodeId} killed with SIGKILL in round ${open.round} (${open.received} of ${open.selected} updates in)`);
  let newLeaderS = null as number | null;
  const after = await until(
    `round ${open.round} committed after node ${nodeId} was killed`,
    async () => {
      if (wasLeader && newLeaderS === null) {
        const id = await leaderId();
        if (id && id !== nodeId) newLeaderS = (performance.now() - killedAt) / 1000;
      }
      const now = await summaries();
      return now.length >= open.round ? now : null;
    },
    180_000,
  );
  const lostCommitted = before.filter((summary, i) => JSON.stringify(after[i]) !== JSON.stringify(summary)).length;
  return { round: open.round, committed: after.length >= open.round, lostCommitted, commitS: (performance.now() - killedAt) / 1000, newLeaderS, leader: await leaderId() };
}

// Ctrl-C or a kill stops the nodes, the devices and redis-server too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown().then(() => process.exit(130)));

let result;
try {
  await start('a');
  await until('node a leads', async () => (await leaderId()) === 'a', 30_000);
  await Promise.all([start('b'), start('c')]);
  say(`nodes' logs in ${dir}/{a,b,c}.log`);
  say(`3 nodes up (${[...nodes.values()].map((n) => `${n.nodeId} ${n.url}`).join(', ')}); ${flags.devices} devices joining`);
  const replayOptions: ReplayOptions = {
    url: nodes.get('a')!.url,
    urls: ['a', 'b', 'c'].map((id) => nodes.get(id)!.url),
    failover: true,
    joinCode: 'benchcode',
    devices: flags.devices,
    rounds: flags.rounds,
    bits: flags.policy === 'fixed' ? [flags.bits as Bits] : (config.allowedBits as Bits[]),
    params: 0,
    blockSize: config.codec.blockSize,
    modelCache: 'shared',
    seed: 1,
  };
  const started = performance.now();
  replayOptions.params = await paramCount();
  replay = spawn(process.execPath, ['--max-old-space-size=8192', '--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/bench/replay-devices.ts'), JSON.stringify(replayOptions)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let rejoins = 0;
  const joined = new Promise<void>((resolve, reject) => {
    replay!.once('exit', (code) => reject(new Error(`the replaying devices exited (${code}) before all joined`)));
    replay!.stdout!.on('data', (data: Buffer) => {
      const text = data.toString();
      if (text.includes('joined')) resolve();
      const match = /rejoins (\d+)/.exec(text);
      if (match) rejoins = Number(match[1]);
    });
  });
  await joined;
  const replayDied = new Promise<never>((_, reject) => replay!.once('exit', (code) => reject(new Error(`the replaying devices exited (${code})`))));
  replayDied.catch(() => undefined);
  const connections = flags.devices;
  say(`${connections} devices joined in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const runStarted = performance.now();
  const orDied = <T>(work: Promise<T>) => Promise.race([work, replayDied]);
  await orDied(until('round 1 committed', async () => (await summaries()).length >= 1, 180_000));
  const killNonLeader = await orDied(killMidRound((await leaderId()) === 'b' ? 'c' : 'b', 'a follower'));
  const leader = await leaderId();
  const killLeader = await orDied(killMidRound(leader!, 'the leader'));
  const final = await orDied(
    until(`${flags.rounds} rounds committed`, async () => {
      const now = await summaries();
      return now.length >= flags.rounds ? now : null;
    }, 300_000),
  );
  const runS = (performance.now() - runStarted) / 1000;
  const rows = final.map((s) => [
    s.round,
    `${s.accepted} / ${s.participants}`,
    s.wallS.toFixed(2),
    ms(s.planS),
    ms(s.solveS),
    s.round === killNonLeader.round ? `follower killed mid-round; committed ${killNonLeader.commitS.toFixed(1)} s later` : s.round === killLeader.round ? `leader killed mid-round; ${killLeader.leader} led after ${killLeader.newLeaderS?.toFixed(1) ?? '?'} s, committed ${killLeader.commitS.toFixed(1)} s later` : '',
  ]);
  process.stdout.write(
    table(['round', 'accepted / picked', 'round wall s', 'planning ms', 'policy solve ms', 'event'], rows) +
      `\n\n3 nodes, ${connections} Socket.IO connections (${flags.devices} replaying devices, ${perRound} picked per round, ${flags.policy === 'fixed' ? `${flags.bits}-bit` : `${meanBits(final).toFixed(2)}-bit (on-demand, mean)`} updates of the ${flags.model} model), ${final.length} rounds committed in ${runS.toFixed(1)} s; ` +
      `${rejoins} joins again on another node after a kill; follower kill: round ${killNonLeader.round} committed, ${killNonLeader.lostCommitted} committed rounds lost; leader kill: round ${killLeader.round} committed, ${killLeader.lostCommitted} lost (${cpus().length} x ${cpus()[0]?.model ?? 'cpu'})\n`,
  );
  result = {
    nodes: 3,
    connections,
    roundsCommitted: final.length,
    killNonLeader: { committed: killNonLeader.committed, lostCommitted: killNonLeader.lostCommitted },
    killLeader: { committed: killLeader.committed, lostCommitted: killLeader.lostCommitted },
    devicesPerRound: perRound,
    policy: flags.policy,
    leaseMs: flags['lease-ms'],
    meanBits: meanBits(final),
    // The leader's planning of each committed round (every picked device's demand, then the policy's solve) and the solve alone, from the summaries in Redis.
    planMsPerRound: final.map((s) => (s.planS === undefined ? null : s.planS * 1000)),
    solveMsPerRound: final.map((s) => (s.solveS === undefined ? null : s.solveS * 1000)),
    roundsPerMinute: final.length / (runS / 60),
    takeoverS: killLeader.newLeaderS,
    commitAfterFollowerKillS: killNonLeader.commitS,
    commitAfterLeaderKillS: killLeader.commitS,
    rejoins,
    runS,
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  };
} catch (error) {
  say((error as Error).message);
  await shutdown();
  process.exit(1);
}
await shutdown();
if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);

/** The model's parameter count (the replaying devices prepare updates of that length). */
async function paramCount(): Promise<number> {
  const { ModelHost } = await import('@fedbit/server');
  const host = await ModelHost.create(config);
  const count = host.paramCount;
  host.dispose();
  return count;
}

function ms(seconds: number | undefined): string {
  return seconds === undefined ? '-' : (seconds * 1000).toFixed(1);
}

/** The mean precision of the accepted updates over the rounds. */
function meanBits(rounds: RoundSummary[]): number {
  const bits = rounds.flatMap((s) => s.devices.filter((d) => d.status === 'accepted').map((d) => d.bits));
  return bits.reduce((a, b) => a + b, 0) / Math.max(1, bits.length);
}
