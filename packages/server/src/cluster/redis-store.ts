// What a cluster of aggregator nodes keeps in Redis, under fedbit:<cluster>:
//
//   leader         "<nodeId>:<term>", set with NX and a lease (PX); the leader renews it well within
//                  the lease, compare-and-renew in one Lua script, so only the holder extends it
//   term           a counter: each new leader takes the next term (its fencing token)
//   node:<id>      a node's heartbeat (PX): a node whose key has expired is dead
//   config         the run config all nodes share (the first node to start writes it)
//   checkpoint     the last committed version: the run store's checkpoint format (checkpoint.ts)
//   summaries      one JSON round summary per committed round, in order
//   committed      the number of the last committed round
//   model:<v>      the encoded model version v that tasks name, for nodes that must serve it
//   partial:<r>:<id>  a node's partial sum of round r (partial.ts)
//   devices        a hash: device id -> what its join recorded (registry.ts: the SHA-256 of its resume
//                  token, never the token; its seat and shard; its profile), so a new leader knows
//                  the devices that joined after the last commit
//   measures       a hash: device id -> what the leader measured of it (measures.ts: link rates, step
//                  time, its last update's statistics), written in batches at each round's opening
//                  and commit
//   control        'pause', 'start' or 'stop': the admin's last word on the run, which a new leader honours
//   config-patch   the admin's config patches (PATCH /api/config) merged into one, which a new
//                  leader applies to the shared config before it leads
//   status         the leader's view of the run (GET /api/status), for the nodes that follow (PX)
//
// The commit is fenced: one Lua script writes checkpoint, summary and round only if the caller still
// holds the lease and the round is the next one, so a leader that lost its lease (a long pause, a
// partition) cannot overwrite what its successor committed, and no committed round is ever replaced.
import { Redis } from 'ioredis';
import type { RoundSummary } from '@fedbit/core';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointState } from '../checkpoint';

const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local term = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. term, 'PX', ARGV[2])
return term`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

const COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local current = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[4]) ~= current + 1 then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('SET', KEYS[4], ARGV[4])
return 1`;

/** A write that only the lease holder makes: KEYS[1] the lease, ARGV[1] its holder; then SET or HSET with the rest. */
const FENCED_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) else redis.call('SET', KEYS[2], ARGV[2]) end
return 1`;

const FENCED_HSET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`;

/** FENCED_HSET of many fields: ARGV[2], ARGV[3] the first field and value, and so on. */
const FENCED_HSET_MANY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1`;

/** Model versions and partial sums are kept this long: a round's life, with room. */
const SCRATCH_TTL_MS = 30 * 60 * 1000;

export interface Leader {
  nodeId: string;
  term: number;
}

export function parseLeader(value: string | null): Leader | null {
  if (value === null) return null;
  const at = value.lastIndexOf(':');
  const term = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(term) || term < 1) return null;
  return { nodeId: value.slice(0, at), term };
}

export class RedisStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  key(name: string): string {
    return `${this.prefix}:${name}`;
  }

  // ---- the leader's lease ----

  /** Takes the lease if nobody holds it: the new term, or 0 when another node holds it. */
  async acquire(nodeId: string, leaseMs: number): Promise<number> {
    return Number(await this.redis.eval(ACQUIRE, 2, this.key('leader'), this.key('term'), nodeId, leaseMs));
  }

  /** Extends the lease this node holds; false when it is no longer this node's. */
  async renew(leader: Leader, leaseMs: number): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 1, this.key('leader'), `${leader.nodeId}:${leader.term}`, leaseMs)) === 1;
  }

  async release(leader: Leader): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key('leader'), `${leader.nodeId}:${leader.term}`);
  }

  async leader(): Promise<Leader | null> {
    return parseLeader(await this.redis.get(this.key('leader')));
  }

  // ---- nodes ----

  async heartbeat(nodeId: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.key(`node:${nodeId}`), String(Date.now()), 'PX', ttlMs);
  }

  async alive(nodeIds: string[]): Promise<Set<string>> {
    if (nodeIds.length === 0) return new Set();
    const values = await this.redis.mget(...nodeIds.map((id) => this.key(`node:${id}`)));
    return new Set(nodeIds.filter((_, i) => values[i] !== null));
  }

  async forget(nodeId: string): Promise<void> {
    await this.redis.del(this.key(`node:${nodeId}`));
  }

  // ---- the shared config ----

  /** The cluster's config: `mine` if this node is the first, else the one already there. */
  async sharedConfig(mine: string): Promise<string> {
    await this.redis.set(this.key('config'), mine, 'NX');
    const shared = await this.redis.get(this.key('config'));
    if (shared === null) throw new Error(`Redis lost ${this.key('config')} just after it was written; is it evicting keys (maxmemory-policy)?`);
    return shared;
  }

  // ---- committed versions ----

  /** Writes the commit of round state.round if `leader` still leads and it is the next round; throws otherwise. */
  async commit(leader: Leader, state: CheckpointState, weights: Float32Array): Promise<void> {
    const bytes = Buffer.concat(encodeCheckpoint(state, weights));
    const summary = JSON.stringify(state.lastSummary);
    const result = Number(
      await this.redis.eval(COMMIT, 4, this.key('leader'), this.key('checkpoint'), this.key('summaries'), this.key('committed'), `${leader.nodeId}:${leader.term}`, bytes, summary, state.round),
    );
    if (result === 0) throw new Error(`node ${leader.nodeId} no longer leads (term ${leader.term}): round ${state.round} was not committed`);
    if (result === -1) throw new Error(`round ${state.round} is not the next round in Redis (${await this.committedRound()} committed): not committed`);
  }

  async committedRound(): Promise<number> {
    return Number((await this.redis.get(this.key('committed'))) ?? 0);
  }

  /** The last committed version and every committed round's summary, or null before the first commit. */
  async committed(expectedWeights: number): Promise<{ checkpoint: Checkpoint; summaries: RoundSummary[] } | null> {
    const [bytes, summaries] = await Promise.all([this.redis.getBuffer(this.key('checkpoint')), this.redis.lrange(this.key('summaries'), 0, -1)]);
    if (!bytes) return null;
    const checkpoint = decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `Redis ${this.key('checkpoint')}`);
    if (checkpoint.weights.length !== expectedWeights) throw new Error(`Redis ${this.key('checkpoint')} holds ${checkpoint.weights.length} weights, this model has ${expectedWeights}`);
    const parsed = summaries.map((text) => JSON.parse(text) as RoundSummary);
    if (parsed.length !== checkpoint.state.round) throw new Error(`Redis ${this.key('summaries')} holds ${parsed.length} summaries for ${checkpoint.state.round} committed rounds`);
    return { checkpoint, summaries: parsed };
  }

  // ---- what a new leader needs besides the commit (fenced as the commit is) ----

  /** Records a device's join (registry.ts); false when `leader` no longer leads. */
  async putDevice(leader: Leader, deviceId: string, record: string): Promise<boolean> {
    return Number(await this.redis.eval(FENCED_HSET, 2, this.key('leader'), this.key('devices'), `${leader.nodeId}:${leader.term}`, deviceId, record)) === 1;
  }

  /** Every device's join record, by id (unchecked text: registry.ts parses it). */
  async devices(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key('devices'));
  }

  /** Records what was measured of devices ([id, JSON] pairs), in one script; false when `leader` no longer leads (nothing is written). */
  async putMeasures(leader: Leader, records: Array<[string, string]>): Promise<boolean> {
    return Number(await this.redis.eval(FENCED_HSET_MANY, 2, this.key('leader'), this.key('measures'), `${leader.nodeId}:${leader.term}`, ...records.flat())) === 1;
  }

  /** Every device's measures, by id (unchecked text: measures.ts parses it). */
  async measures(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key('measures'));
  }

  /** The admin's last start, pause or stop of the run; false when `leader` no longer leads. */
  async putControl(leader: Leader, action: 'start' | 'pause' | 'stop'): Promise<boolean> {
    return Number(await this.redis.eval(FENCED_SET, 2, this.key('leader'), this.key('control'), `${leader.nodeId}:${leader.term}`, action)) === 1;
  }

  async control(): Promise<string | null> {
    return this.redis.get(this.key('control'));
  }

  /** Every config patch the admin made, merged into one (JSON); false when `leader` no longer leads. */
  async putConfigPatch(leader: Leader, json: string): Promise<boolean> {
    return Number(await this.redis.eval(FENCED_SET, 2, this.key('leader'), this.key('config-patch'), `${leader.nodeId}:${leader.term}`, json)) === 1;
  }

  async configPatch(): Promise<string | null> {
    return this.redis.get(this.key('config-patch'));
  }

  /** The leader's view of the run for the nodes that follow, kept ttlMs; false when `leader` no longer leads. */
  async putStatus(leader: Leader, json: string, ttlMs: number): Promise<boolean> {
    return Number(await this.redis.eval(FENCED_SET, 2, this.key('leader'), this.key('status'), `${leader.nodeId}:${leader.term}`, json, ttlMs)) === 1;
  }

  async status(): Promise<string | null> {
    return this.redis.get(this.key('status'));
  }

  // ---- scratch: model versions and partial sums ----

  async putModel(version: number, frame: Uint8Array): Promise<void> {
    await this.redis.set(this.key(`model:${version}`), Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), 'PX', SCRATCH_TTL_MS);
  }

  async getModel(version: number): Promise<Uint8Array | null> {
    const bytes = await this.redis.getBuffer(this.key(`model:${version}`));
    return bytes ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  }

  async putPartial(round: number, nodeId: string, bytes: Uint8Array): Promise<void> {
    await this.redis.set(this.key(`partial:${round}:${nodeId}`), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'PX', SCRATCH_TTL_MS);
  }

  async getPartial(round: number, nodeId: string): Promise<Uint8Array | null> {
    const bytes = await this.redis.getBuffer(this.key(`partial:${round}:${nodeId}`));
    return bytes ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  }
}
