// One aggregator node of a cluster (issue 17, item 3; docs/SCALE.md, section 3). Devices connect to
// any node. One node leads, elected through a lease in Redis (redis-store.ts), and only it runs the
// round loop: selection, the policy's plan, deadlines, the commit. The others forward their devices'
// control messages to it (bus.ts, messages.ts), and the leader reaches every device through
// Socket.IO's Redis adapter. An update's frame never leaves the node its device is connected to:
// that node checks it against the round's plan, asks the leader to admit it, and merges it into its
// own partial sum (node-round.ts; core's aggregator seam, PartialSum); when the round closes every node hands its
// partial to the leader through Redis (partial.ts), and the leader adds the partials of the nodes
// that answered to its own, commits, writes the checkpoint to Redis (fenced by its lease) and to its
// run directory, then announces it. A node that dies loses its devices' updates of that round; a
// leader that dies is replaced by the next node to take the lease, which resumes from the last
// version committed in Redis, as --resume does from disk, and from what the leaders keep there
// besides (leader-state.ts): the devices' join records, the run's control word, the admin's config
// patches, and what was measured of each device (measures.ts). Any node answers /api/status with the
// leader's view of the run (status.ts).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { RefusalSchema, RunPhaseSchema, ServerEvent, WelcomeSchema, deviceSummary, type Ack, type Hello, type Refusal, type RunPhase, type RunStatus, type UpdateMeta, type Welcome } from '@fedbit/core';
import { z } from 'zod';
import { patchedConfig, type ConfigPatch, type RunConfig } from '../config';
import type { MergeKernel } from '@fedbit/core';
import type { Coordinator } from '../round/coordinator';
import type { ClusterHooks, ClusterRound } from '../round/context';
import type { DeviceApi } from '../round/device-api';
import { refusal } from '../round/refusals';
import type { CheckpointState } from '../store';
import type { DevicePort } from '../transport/socket-io';
import { Bus } from './bus';
import type { LeaderMessage, NodeRequest } from './messages';
import { decodePartial } from './partial';
import { credentialsOf, type JoinCredentials } from '../devices/join';
import { recordJoin, takeOverConfig, takeOverLeaderState, type Control } from './leader-state';
import { MeasureLog } from './measures';
import { NodeRound } from './node-round';
import { RedisStore, type Leader } from './redis-store';
import { StatusBoard } from './status';

export interface ClusterOptions {
  /** The Redis the nodes share, e.g. redis://127.0.0.1:6379. */
  redis: string;
  /** This node's name in the cluster: letters, digits, _ or -, unique among the nodes. */
  nodeId: string;
  /** Which cluster on that Redis: its keys are fedbit:<name>:... Default 'fedbit'. */
  name?: string;
  /** The leader's lease: a dead leader is replaced this long after its last renewal. Default 5000 ms. */
  leaseMs?: number;
}

/** How long a node waits for the leader's answer to a device's message. */
const REQUEST_TIMEOUT_MS = 5000;
/** How long the leader waits for the partial sums of live nodes when a round closes. */
const PARTIAL_WAIT_MS = 10_000;
/** Bus messages handled between two turns of the event loop. */
const INBOX_TURN = 32;
/** Devices registered again with a new leader at a time. */
const REJOIN_BATCH = 200;

/**
 * A device as its node names it: by its connection. Its id is the leader's, which can change when a
 * new leader that never knew it registers it again (see `local`); the id here is the first, for logs.
 */
export interface DeviceRef {
  id: string;
  connectionId: string;
}

/** A device connected to this node: enough to register it again with a new leader (its token's hash, never the token). */
interface LocalDevice {
  hello: BareHello;
  deviceId: string;
  tokenHash: string | null;
}

/** A hello as it crosses Redis: without its resume token (messages.ts). */
type BareHello = Omit<Hello, 'resumeToken'>;

/** The leader's answer to a forwarded join; `tokenIssued`: the device joined as new and gets the token whose hash the node sent. */
const JoinReplySchema = z.union([z.object({ ok: z.literal(true), deviceId: z.string(), welcome: WelcomeSchema, claimRefused: z.boolean(), tokenIssued: z.boolean() }), RefusalSchema]);
const AckReplySchema = z.union([z.object({ ok: z.literal(true) }), RefusalSchema]);
const RefusalOrNullSchema = z.union([RefusalSchema, z.null()]);
const ControlReplySchema = z.union([z.object({ ok: z.literal(true), phase: RunPhaseSchema }), RefusalSchema]);
const ConfigReplySchema = z.union([z.object({ ok: z.literal(true), config: z.record(z.string(), z.unknown()) }), RefusalSchema]);

export class ClusterNode implements ClusterHooks {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly store: RedisStore;
  private readonly leaseStore: RedisStore;
  private readonly leaseClient: Redis;
  /** How late the event loop runs, reported when the lease is lost. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  readonly bus: Bus;
  /** The leader as this node last saw it in Redis. */
  private known: Leader | null = null;
  /** The lease this node holds (renewed from the moment it is taken). */
  private lease: Leader | null = null;
  /** The lease under which this node acts as the leader: set once it has taken over the committed state. */
  private leading: Leader | null = null;
  /** Taking over as leader, under way. */
  private transition: Promise<void> | null = null;
  /** When the lease was last taken or renewed (ms since the epoch). */
  private renewedAt = 0;
  private coordinator!: Coordinator;
  private io: Server | null = null;
  private api!: DeviceApi;
  private config!: RunConfig;
  private kernel!: MergeKernel;
  /** The devices connected to this node, by connection. */
  private readonly local = new Map<string, LocalDevice>();
  /** Leader: the node each device of another node is connected to. */
  private readonly remote = new Map<string, string>();
  /** Leader: per round, the devices of each other node whose update it admitted. */
  private readonly admitted = new Map<number, Map<string, Set<string>>>();
  /** Leader: the nodes whose partial of a round is ready. */
  private readonly ready = new Map<number, Set<string>>();
  /** Leader: what it last wrote to Redis of each device's measures, and the write under way. */
  private readonly measureLog = new MeasureLog();
  private measuring: Promise<void> = Promise.resolve();
  /** Leader: the admin's config patches merged into one, as recorded in Redis. */
  private configPatch: ConfigPatch = {};
  /** A node that does not lead: the open round's plan and partial sum. */
  private current: NodeRound | null = null;
  private registeredTerm = 0;
  /** Messages from the bus not yet handled, and the loop handling them (null when idle). */
  private readonly inbox: Array<{ message: NodeRequest | LeaderMessage; at: number }> = [];
  /** Requests dropped because their sender had stopped waiting before their turn came. */
  private stale = 0;
  private draining: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** The cluster's view of the run: the leader publishes it, the others answer with it. */
  private board: StatusBoard | null = null;
  private ticking = false;
  private closed = false;

  private constructor(
    options: ClusterOptions,
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly adapterClients: [Redis, Redis],
    leaseClient: Redis,
    private readonly log: Logger,
  ) {
    this.nodeId = options.nodeId;
    this.leaseMs = options.leaseMs ?? 5000;
    const prefix = `fedbit:${options.name ?? 'fedbit'}`;
    this.store = new RedisStore(redis, prefix);
    // The lease and the heartbeat on a connection of their own: never queued behind bulk traffic (partials, checkpoints, replies).
    this.leaseStore = new RedisStore(leaseClient, prefix);
    this.leaseClient = leaseClient;
    this.loopDelay.enable();
    this.bus = new Bus(redis, sub, prefix, this.nodeId, log, (message) => this.enqueue(message));
  }

  /** Connects to Redis (refusing a bad node id, URL or an unreachable Redis with the reason). */
  static async connect(options: ClusterOptions, log: Logger): Promise<ClusterNode> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.nodeId)) throw new Error(`node id ${JSON.stringify(options.nodeId.slice(0, 80))}: letters, digits, _ or -, 1 to 64 long expected`);
    if (options.name !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(options.name)) throw new Error(`cluster name ${JSON.stringify(options.name.slice(0, 80))}: letters, digits, _ or -, 1 to 64 long expected`);
    if (options.leaseMs !== undefined && !(Number.isInteger(options.leaseMs) && options.leaseMs >= 300 && options.leaseMs <= 60_000)) throw new Error(`lease of ${options.leaseMs} ms: a whole number of ms from 300 to 60000 expected`);
    let url: URL;
    try {
      url = new URL(options.redis);
    } catch {
      throw new Error(`--redis ${options.redis.slice(0, 80)} is not a URL; expected redis://host:port`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`--redis ${options.redis.slice(0, 80)}: expected a redis:// or rediss:// URL`);
    const make = () => new Redis(options.redis, { maxRetriesPerRequest: 2, lazyConnect: true, connectTimeout: 3000 });
    const clients = [make(), make(), make(), make(), make()];
    // ioredis reconnects by itself; its errors are logged (the first, then every hundredth), not thrown at the process.
    let errors = 0;
    for (const client of clients) {
      client.on('error', (error: Error) => {
        if (errors++ % 100 === 0) log.warn({ err: error.message, errors }, 'Redis connection error');
      });
    }
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } catch (error) {
      clients.forEach((c) => c.disconnect());
      throw new Error(`cannot reach Redis at ${options.redis}: ${(error as Error).message}; start redis-server or pass the right --redis URL`);
    }
    return new ClusterNode(options, clients[0], clients[1], [clients[2], clients[3]], clients[4], log);
  }

  /** Socket.IO's Redis adapter: rooms, broadcasts and the dashboard's feed span the nodes. */
  installAdapter(io: Server): void {
    this.io = io;
    io.adapter(createAdapter(this.adapterClients[0], this.adapterClients[1], { key: `${this.store.prefix}:socket.io` }));
  }

  get isLeader(): boolean {
    return this.leading !== null;
  }

  get leader(): Leader | null {
    return this.known;
  }

  /** Joins the engine and starts: the bus, the heartbeat, the lease. */
  async start(coordinator: Coordinator, kernel: MergeKernel): Promise<void> {
    this.coordinator = coordinator;
    this.api = coordinator.deviceApi;
    this.config = coordinator.config;
    this.kernel = kernel;
    coordinator.models.source = { read: (version) => this.store.getModel(version), length: coordinator.paramCount };
    coordinator.onCommitted((summary) => {
      if (this.leading) void this.bus.toAll({ kind: 'committed', from: this.nodeId, term: this.leading.term, round: summary.round }).catch((error: unknown) => this.log.error({ err: (error as Error).message }, 'commit announcement failed'));
    });
    this.board = new StatusBoard(
      { nodeId: this.nodeId, leaseMs: this.leaseMs, leading: () => this.leading, known: () => this.known, nodeDevices: () => this.nodeDevices() },
      this.store,
      coordinator,
      this.log,
    );
    this.board.start();
    await this.bus.start();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.leaseMs / 5)));
  }

  /**
   * The heartbeat and the lease, every fifth of a lease. Nothing slow is waited for here (taking over
   * runs beside it), so a node busy taking over still renews its lease.
   */
  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      await this.leaseStore.heartbeat(this.nodeId, this.leaseMs);
      if (this.lease) {
        if (!(await this.leaseStore.renew(this.lease, this.leaseMs))) this.lostLease();
        else {
          this.renewedAt = Date.now();
          this.loopDelay.reset();
          if (this.leading) this.checkNodes();
        }
      } else {
        const term = await this.leaseStore.acquire(this.nodeId, this.leaseMs);
        if (term > 0) {
          const lease = { nodeId: this.nodeId, term };
          this.lease = lease;
          this.renewedAt = Date.now();
          this.known = lease;
          this.transition = this.becomeLeader(lease)
            .catch((error: unknown) => {
              this.log.error({ err: (error as Error).message }, 'taking over as leader failed: the lease is given up');
              if (this.lease === lease) {
                this.lostLease();
                void this.store.release(lease).catch(() => undefined);
              }
            })
            .finally(() => (this.transition = null));
        }
      }
      const seen = await this.leaseStore.leader();
      if (seen && (!this.known || seen.term > this.known.term)) this.known = seen;
      if (this.known && this.known.term > this.registeredTerm && !this.lease) void this.registerAll(this.known.term);
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'cluster heartbeat failed');
    } finally {
      this.ticking = false;
    }
  }

  private async becomeLeader(lease: Leader): Promise<void> {
    const committed = await this.store.committed(this.coordinator.snapshot.global.length);
    if (this.lease !== lease) return;
    this.current = null;
    this.remote.clear();
    // The config as the admin's patches left it, before the committed run is measured against its rounds.
    this.configPatch = await takeOverConfig(this.store, this.coordinator, this.log);
    if (this.lease !== lease) return;
    if (committed) this.coordinator.adopt(committed.checkpoint, committed.summaries);
    // The devices that joined since that commit, and the run paused (or started) by hand, as the last leader left them.
    const carried = await takeOverLeaderState(this.store, this.coordinator, this.log, this.measureLog);
    if (this.lease !== lease) return;
    this.leading = lease;
    this.log.info({ node: this.nodeId, term: lease.term, round: committed?.checkpoint.state.round ?? 0, devicesSinceCommit: carried.devices, devicesMeasured: carried.measured, control: carried.control, configPatch: this.configPatch }, 'this node leads the cluster');
    await this.registerAll(lease.term);
    await this.bus.toAll({ kind: 'leader', from: this.nodeId, term: lease.term });
    // A moment for the other nodes to register their devices before the first round picks among them.
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.floor(this.leaseMs / 3))));
    if (this.leading === lease) {
      this.coordinator.lead();
      this.board?.changed();
    }
  }

  /** The cluster's view of the run (GET /api/status, a new dashboard), whichever node answers. */
  async status(): Promise<RunStatus> {
    if (!this.board) throw new Error(`node ${this.nodeId} has not started`);
    return this.board.view();
  }

  /** Leader: the devices connected to each node, this one's included. */
  private nodeDevices(): Array<{ node: string; devices: number }> {
    const counts = new Map<string, number>([[this.nodeId, this.local.size]]);
    for (const node of this.remote.values()) counts.set(node, (counts.get(node) ?? 0) + 1);
    return [...counts].map(([node, devices]) => ({ node, devices }));
  }

  private lostLease(): void {
    const maxLoopDelayMs = Math.round(this.loopDelay.max / 1e6);
    this.loopDelay.reset();
    this.log.error({ node: this.nodeId, term: this.lease?.term, sinceRenewalMs: Date.now() - this.renewedAt, leaseMs: this.leaseMs, maxLoopDelayMs }, 'this node lost the lease (it could not renew it in time: a longer --lease-ms helps on a busy machine): it no longer leads; its open round is dropped');
    this.lease = null;
    this.leading = null;
    this.coordinator.follow();
  }

  private checkingNodes = false;

  /** Leader: looks for dead nodes beside the lease's tick, never holding it up. */
  private checkNodes(): void {
    if (this.checkingNodes) return;
    this.checkingNodes = true;
    this.dropDeadNodes()
      .catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'checking the nodes failed'))
      .finally(() => (this.checkingNodes = false));
  }

  /** Leader: devices on nodes whose heartbeat stopped are gone (their updates of the open round will not come). */
  private async dropDeadNodes(): Promise<void> {
    const nodes = [...new Set(this.remote.values())];
    const alive = await this.store.alive(nodes);
    for (const [deviceId, node] of this.remote) {
      if (alive.has(node)) continue;
      this.remote.delete(deviceId);
      const socketId = this.coordinator.devices.get(deviceId)?.socketId;
      const device = socketId ? this.api.deviceOn(deviceId, socketId) : null;
      if (device) this.api.gone(device, false);
    }
  }

  /** Registers this node's connected devices with the leader of `term` (a new leader knows only the checkpoint's devices). */
  private async registerAll(term: number): Promise<void> {
    this.registeredTerm = Math.max(this.registeredTerm, term);
    const entries = [...this.local.entries()];
    for (let i = 0; i < entries.length && this.registeredTerm === term; i += REJOIN_BATCH) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve)); // let the lease's timer run between batches
      await Promise.all(
        entries.slice(i, i + REJOIN_BATCH).map(async ([connectionId, known]) => {
          const hello: BareHello = { ...known.hello, deviceId: known.deviceId };
          const joined = await this.join(hello, connectionId, { presented: known.tokenHash, fresh: credentialsOf({}).fresh }).catch((error: unknown) => refusal('unavailable', (error as Error).message));
          if ('code' in joined) this.log.warn({ connectionId, reason: joined.reason }, 'device not registered with the new leader');
        }),
      );
    }
  }

  // ---- messages from the bus, one at a time in arrival order ----

  private enqueue(message: NodeRequest | LeaderMessage): void {
    this.inbox.push({ message, at: Date.now() });
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /**
   * Handles the inbox in order, giving the event loop a turn every few messages: thousands of joins
   * handled back to back as microtasks would starve the timer that renews the lease (seen at 10,000
   * devices: the leader lost its lease while a new leader's devices registered).
   */
  private async drain(): Promise<void> {
    for (let handled = 1; this.inbox.length > 0; handled++) {
      const { message, at } = this.inbox.shift()!;
      // A request its sender no longer waits for is not worth handling: under a storm of joins (a
      // node's devices all joining again) it would only make every later answer later still.
      if ('id' in message && Date.now() - at > REQUEST_TIMEOUT_MS) {
        if (++this.stale % 100 === 1) this.log.warn({ stale: this.stale, waiting: this.inbox.length }, 'requests dropped: their senders stopped waiting before their turn');
        continue;
      }
      await this.receive(message).catch((error: unknown) => this.log.error({ err: (error as Error).message, kind: message.kind }, 'cluster message failed'));
      if (handled % INBOX_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async receive(message: NodeRequest | LeaderMessage): Promise<void> {
    switch (message.kind) {
      case 'round-open':
      case 'round-close':
      case 'committed':
      case 'leader':
        if (!(await this.fromLeader(message))) return;
        return this.onLeaderMessage(message);
      default:
        return this.onRequest(message);
    }
  }

  /** A leader's message is acted on only if its sender holds the lease with that term in Redis. */
  private async fromLeader(message: LeaderMessage): Promise<boolean> {
    if (this.known?.nodeId !== message.from || this.known.term !== message.term) {
      const seen = await this.store.leader();
      if (seen) this.known = seen;
    }
    if (this.known?.nodeId === message.from && this.known.term === message.term && !this.lease) return true;
    this.bus.refuse(`${message.kind} from node ${message.from} with term ${message.term}, but the lease in Redis is ${this.known ? `node ${this.known.nodeId}'s, term ${this.known.term}` : 'nobody\'s'}`, JSON.stringify(message));
    return false;
  }

  private async onLeaderMessage(message: LeaderMessage): Promise<void> {
    switch (message.kind) {
      case 'leader':
        if (message.term > this.registeredTerm) await this.registerAll(message.term);
        return;
      case 'round-open': {
        this.current = new NodeRound(message, this.config.aggregation, this.kernel);
        await this.coordinator.models.find(message.model.version);
        return;
      }
      case 'round-close': {
        const open = this.current;
        if (!open || open.round !== message.round || open.term !== message.term) {
          if (message.nodes.includes(this.nodeId)) this.log.warn({ round: message.round }, 'asked for the partial sum of a round this node does not hold');
          return;
        }
        await open.close();
        this.current = null;
        if (!message.nodes.includes(this.nodeId)) return;
        await this.store.putPartial(open.round, this.nodeId, open.partialBytes(this.nodeId));
        await this.bus.toNode(message.from, { kind: 'partial-ready', from: this.nodeId, term: open.term, round: open.round });
        return;
      }
      case 'committed': {
        const committed = await this.store.committed(this.coordinator.snapshot.global.length);
        if (!committed || this.lease) return;
        this.coordinator.adopt(committed.checkpoint, committed.summaries);
        // Each device of this node hears its part of the summary from here (the leader tells only its own).
        const summary = committed.summaries.at(-1);
        if (summary && summary.round === message.round && this.io) {
          for (const [connectionId, known] of this.local) this.io.local.to(connectionId).emit(ServerEvent.summary, deviceSummary(summary, known.deviceId));
        }
        return;
      }
    }
  }

  /** Leader: a request of another node about one of its devices. */
  private async onRequest(message: NodeRequest): Promise<void> {
    // Replies are not waited for: one Redis connection keeps them in order, and the next request need not wait for this one's.
    const answer = (body: unknown) => {
      if ('id' in message) void this.bus.reply(message.from, message.id, body).catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'cluster reply failed'));
    };
    if (!this.leading || message.term !== this.leading.term) {
      return answer(refusal('unavailable', `node ${this.nodeId} does not lead the cluster in term ${message.term}; try again when the new leader is known`));
    }
    if (message.kind === 'join') {
      const lease = this.leading;
      // The hashes only: the node that forwarded it holds the new token, if one is issued.
      const joined = this.api.join(message.hello, message.connectionId, { presented: message.presented, fresh: { token: null, hash: message.fresh } });
      this.remote.set(joined.device.id, message.from);
      // The welcome goes out once the join is in Redis (one connection keeps the writes in order; the inbox does not wait).
      void recordJoin(this.store, lease, joined.device)
        .then((ok) => answer(ok ? { ok: true, deviceId: joined.device.id, welcome: joined.welcome, claimRefused: joined.claimRefused, tokenIssued: !joined.rejoin } : notLeading(this.nodeId)))
        .catch((error: unknown) => answer(refusal('unavailable', `the join could not be recorded in Redis (${(error as Error).message}); try again in a few seconds`)));
      return;
    }
    if (message.kind === 'config') {
      void this.patchConfig(message.patch)
        .then(answer)
        .catch((error: unknown) => answer(refusal('unavailable', `the config patch could not be recorded in Redis (${(error as Error).message}); try again`)));
      return;
    }
    if (message.kind === 'control') {
      void this.control(message.action)
        .then(answer)
        .catch((error: unknown) => answer(refusal('unavailable', `the run's state could not be recorded in Redis (${(error as Error).message}); try again`)));
      return;
    }
    if (message.kind === 'partial-ready') {
      let nodes = this.ready.get(message.round);
      if (!nodes) this.ready.set(message.round, (nodes = new Set()));
      nodes.add(message.from);
      return;
    }
    const device = this.api.deviceOn(message.deviceId, message.connectionId);
    if (!device) return answer(refusal('not-joined', `device ${message.deviceId} is not joined on connection ${message.connectionId}; send ${'device:hello'} again`));
    switch (message.kind) {
      case 'telemetry':
        return answer(this.api.telemetry(device, message.telemetry));
      case 'update': {
        const ack = this.api.updateElsewhere(device, message.meta, message.bytes);
        if (ack.ok) {
          let byNode = this.admitted.get(message.meta.round);
          if (!byNode) this.admitted.set(message.meta.round, (byNode = new Map()));
          let set = byNode.get(message.from);
          if (!set) byNode.set(message.from, (set = new Set()));
          set.add(device.id);
        }
        return answer(ack);
      }
      case 'probe':
        return this.api.probe(device, message.bytes);
      case 'progress':
        return this.api.progress(device, message.progress);
      case 'gone':
        this.remote.delete(device.id);
        return this.api.gone(device, message.left, message.connectionId);
    }
  }

  // ---- the round's hooks (ClusterHooks), on the leader ----

  async roundOpened(open: ClusterRound, clipNorm: number | null): Promise<void> {
    const lease = this.mustLead();
    const model = this.coordinator.models.get(open.model.version);
    if (!model) throw new Error(`model version ${open.model.version} is not kept on the leader`);
    await this.store.putModel(open.model.version, model.frame);
    this.admitted.set(open.round, new Map());
    this.ready.delete(open.round);
    const slots = [...open.slots.values()].filter((slot) => this.remote.has(slot.device.id)).map((slot) => ({ deviceId: slot.device.id, bits: slot.assignment.bits, steps: slot.work.steps, weight: slot.weight }));
    await this.bus.toAll({ kind: 'round-open', from: this.nodeId, term: lease.term, round: open.round, deadlineAt: open.deadlineAt, model: open.model, clipNorm, length: open.aggregator.length, slots });
    // What the devices' telemetry measured since the last round, into Redis (beside the round, not before it).
    this.recordMeasures(lease);
  }

  /** Leader: the measures that changed since they were last written, into Redis, one write after another. */
  private recordMeasures(lease: Leader): void {
    this.measuring = this.measuring
      .then(async () => {
        if (this.leading !== lease) return;
        const written = await this.measureLog.flush(this.store, lease, this.coordinator.devices);
        if (written === false) this.log.warn({ node: this.nodeId, term: lease.term }, 'device measures not written: this node no longer leads');
      })
      .catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'device measures could not be written to Redis: a next leader plans those devices from older measures'));
  }

  async gather(open: ClusterRound): Promise<void> {
    const lease = this.mustLead();
    const byNode = this.admitted.get(open.round) ?? new Map<string, Set<string>>();
    this.admitted.delete(open.round);
    const nodes = [...byNode.keys()];
    await this.bus.toAll({ kind: 'round-close', from: this.nodeId, term: lease.term, round: open.round, nodes });
    // Wait for every node with admitted updates: until its partial is ready, its heartbeat stops, or the wait ends.
    const deadline = Date.now() + PARTIAL_WAIT_MS;
    for (;;) {
      const ready = this.ready.get(open.round) ?? new Set<string>();
      const waiting = nodes.filter((node) => !ready.has(node));
      if (waiting.length === 0 || Date.now() > deadline) break;
      const alive = await this.store.alive(waiting);
      if (waiting.every((node) => !alive.has(node))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ready = this.ready.get(open.round) ?? new Set<string>();
    this.ready.delete(open.round);
    for (const [node, devices] of byNode) {
      let merged = new Set<string>();
      if (ready.has(node)) {
        try {
          merged = await this.addPartial(open, node, lease.term, devices);
        } catch (error) {
          this.log.error({ round: open.round, node, err: (error as Error).message }, 'partial sum refused: that node\'s updates are left out of the round');
        }
      } else {
        this.log.warn({ round: open.round, node, updates: devices.size }, 'no partial sum from a node (dead or too slow): its updates are left out of the round');
      }
      for (const deviceId of devices) {
        const slot = open.slots.get(deviceId);
        if (slot && !merged.has(deviceId)) {
          slot.status = 'gone';
          slot.record = null;
        }
      }
    }
  }

  /** Reads, checks and adds one node's partial; returns the devices it holds. Throws (adding nothing) for a partial that is not what was asked. */
  private async addPartial(open: ClusterRound, node: string, term: number, admitted: Set<string>): Promise<Set<string>> {
    const bytes = await this.store.getPartial(open.round, node);
    if (!bytes) throw new Error(`partial sum of node ${node} for round ${open.round} is not in Redis`);
    const partial = decodePartial(bytes, { round: open.round, term, nodeId: node, length: open.aggregator.length });
    const stranger = partial.header.devices.find((id) => !admitted.has(id));
    if (stranger !== undefined) throw new Error(`partial sum of node ${node} for round ${open.round} holds device ${stranger}, whose update the leader did not admit`);
    if (!open.aggregator.addPartial) throw new Error(`the ${open.aggregator.rule} rule cannot add partial sums`);
    if (partial.count > 0) open.aggregator.addPartial(partial);
    return new Set(partial.header.devices);
  }

  async replicate(state: CheckpointState, weights: Float32Array, ema: Float32Array | null): Promise<void> {
    const lease = this.mustLead();
    let saved = weights;
    if (ema) {
      saved = new Float32Array(weights.length * 2);
      saved.set(weights);
      saved.set(ema, weights.length);
    }
    await this.store.commit(lease, state, saved);
    // The round's updates and step times, and the link rates they timed.
    this.recordMeasures(lease);
  }

  private mustLead(): Leader {
    if (!this.leading) throw new Error(`node ${this.nodeId} no longer leads the cluster`);
    return this.leading;
  }

  /**
   * The admin starts, pauses or stops the run (POST /api/control on any node): the leader records it
   * in Redis, fenced by its lease, then acts on it, so a next leader does as this one was told; a
   * node that follows hands it to the leader. A stopped run stays stopped (nothing more is recorded).
   */
  async control(action: Control): Promise<{ ok: true; phase: RunPhase } | Refusal> {
    const lease = this.leading;
    if (!lease) return ControlReplySchema.parse(await this.ask({ kind: 'control', action })) as { ok: true; phase: RunPhase } | Refusal;
    if (this.coordinator.phase === 'stopped') return { ok: true, phase: 'stopped' };
    if (!(await this.store.putControl(lease, action))) return refusal('unavailable', `node ${this.nodeId} lost the lead before the ${action} was recorded; try again in a few seconds`);
    if (action === 'start') this.coordinator.start();
    else if (action === 'pause') this.coordinator.pause();
    else await this.coordinator.stop();
    this.log.info({ action, node: this.nodeId }, 'run control recorded in Redis');
    return { ok: true, phase: this.coordinator.phase };
  }

  /**
   * The admin patches the run's config (PATCH /api/config on any node): the leader checks it against
   * the run's config as a single node does (a patch that does not fit is refused 'bad-value' with
   * the reason and changes nothing), records every patch so far merged into one in Redis, fenced by
   * its lease, then applies it, so a next leader runs with it; a node that follows hands it to the
   * leader.
   */
  async patchConfig(patch: ConfigPatch): Promise<{ ok: true; config: Record<string, unknown> } | Refusal> {
    const lease = this.leading;
    if (!lease) return ConfigReplySchema.parse(await this.ask({ kind: 'config', patch }));
    try {
      patchedConfig(this.coordinator.config, patch);
    } catch (error) {
      return refusal('bad-value', (error as Error).message);
    }
    const merged = { ...this.configPatch, ...patch };
    if (!(await this.store.putConfigPatch(lease, JSON.stringify(merged)))) return refusal('unavailable', `node ${this.nodeId} lost the lead before the config patch was recorded; try again in a few seconds`);
    this.configPatch = merged;
    const wasDone = this.coordinator.phase === 'done';
    this.coordinator.applyPatch(patch);
    // A finished run given more rounds waits for a start: so under a next leader too.
    if (wasDone && this.coordinator.phase === 'paused') await this.store.putControl(lease, 'pause');
    this.log.info({ patch, node: this.nodeId }, 'config patch recorded in Redis');
    return { ok: true, config: this.coordinator.config as unknown as Record<string, unknown> };
  }

  // ---- the devices connected to this node (the DevicePort socket-io.ts calls) ----

  readonly port: DevicePort<DeviceRef> = {
    join: async (hello, connectionId) => {
      const { resumeToken: _token, ...bare } = hello;
      const joined = await this.join(bare, connectionId, credentialsOf(hello));
      if ('code' in joined) return joined;
      return { device: { id: joined.deviceId, connectionId }, welcome: joined.welcome, claimRefused: joined.claimRefused };
    },
    telemetry: async (device, telemetry) => {
      const deviceId = this.idOf(device);
      if (this.leading) {
        const known = this.api.deviceOn(deviceId, device.connectionId);
        return known ? this.api.telemetry(known, telemetry) : notJoined(deviceId);
      }
      return RefusalOrNullSchema.parse(await this.ask({ kind: 'telemetry', deviceId, connectionId: device.connectionId, telemetry }));
    },
    probe: (device, bytes) => this.tell({ kind: 'probe', deviceId: this.idOf(device), connectionId: device.connectionId, bytes }),
    progress: (device, progress) => this.tell({ kind: 'progress', deviceId: this.idOf(device), connectionId: device.connectionId, progress }),
    update: (device, meta, frame) => this.update(device, meta, frame),
    gone: (device, left) => {
      const deviceId = this.idOf(device);
      if (!this.local.delete(device.connectionId)) return;
      this.tell({ kind: 'gone', deviceId, connectionId: device.connectionId, left });
    },
    splitForward: (_device, meta) => Promise.resolve({ ack: refusal('not-split', 'a cluster of aggregator nodes trains the whole model on each device: there is no split step', { round: meta.round }) }),
    splitEnd: (_device, meta) => Promise.resolve(refusal('not-split', 'a cluster of aggregator nodes trains the whole model on each device: there is no split step', { round: meta.round })),
    secureAdvertise: (_device, message) => Promise.resolve(refusal('wrong-step', 'a cluster of aggregator nodes does not run secure aggregation: send updates with device:update', { round: message.round })),
    secureShare: (_device, message) => refusal('wrong-step', 'a cluster of aggregator nodes does not run secure aggregation', { round: message.round }),
    secureMasked: (_device, round) => refusal('wrong-step', 'a cluster of aggregator nodes does not run secure aggregation', { round }),
    secureReveal: (_device, message) => refusal('wrong-step', 'a cluster of aggregator nodes does not run secure aggregation', { round: message.round }),
  };

  /** The device's id as the leader knows it now. */
  private idOf(device: DeviceRef): string {
    return this.local.get(device.connectionId)?.deviceId ?? device.id;
  }

  /**
   * Joins (or registers again) a device of this node with the leader, wherever it is. The token is
   * hashed here: the leader gets the hashes (`credentials`), and a device that joins as new gets
   * its token from this node.
   */
  private async join(hello: BareHello, connectionId: string, credentials: JoinCredentials): Promise<{ deviceId: string; welcome: Welcome; claimRefused: boolean } | Refusal> {
    let joined: { deviceId: string; welcome: Welcome; claimRefused: boolean; tokenIssued: boolean } | Refusal;
    if (this.leading) {
      const lease = this.leading;
      const local = this.api.join(hello, connectionId, { ...credentials, fresh: { token: null, hash: credentials.fresh.hash } });
      // Recorded in Redis before the device hears its welcome, so a next leader knows it.
      let recorded: boolean;
      try {
        recorded = await recordJoin(this.store, lease, local.device);
      } catch (error) {
        return refusal('unavailable', `the join could not be recorded in Redis (${(error as Error).message}); try again in a few seconds`);
      }
      if (!recorded) return notLeading(this.nodeId);
      joined = { deviceId: local.device.id, welcome: local.welcome, claimRefused: local.claimRefused, tokenIssued: !local.rejoin };
    } else {
      const reply = JoinReplySchema.parse(await this.ask({ kind: 'join', connectionId, hello, presented: credentials.presented, fresh: credentials.fresh.hash }));
      joined = 'code' in reply ? reply : { deviceId: reply.deviceId, welcome: reply.welcome as Welcome, claimRefused: reply.claimRefused, tokenIssued: reply.tokenIssued };
    }
    if ('code' in joined) return joined;
    const { tokenIssued, ...rest } = joined;
    this.local.set(connectionId, { hello, deviceId: joined.deviceId, tokenHash: tokenIssued ? credentials.fresh.hash : credentials.presented });
    // A new device's token, drawn on this node, goes to it alone (registering again, none is given: the device keeps the one it holds).
    if (!tokenIssued || credentials.fresh.token === null) return rest;
    return { ...rest, welcome: { ...rest.welcome, resumeToken: credentials.fresh.token } };
  }

  /** An update of a device on this node: merged here, admitted by the leader. */
  private async update(ref: DeviceRef, meta: UpdateMeta, frame: Uint8Array): Promise<Ack> {
    const { connectionId } = ref;
    const device = { id: this.idOf(ref) };
    if (this.leading) {
      const known = this.api.deviceOn(device.id, connectionId);
      return known ? this.api.update(known, meta, frame) : notJoined(device.id);
    }
    const at = { round: meta.round };
    const open = await this.roundFor(meta.round);
    if (!open || open.round !== meta.round) return refusal('stale-round', `round ${meta.round} is not open on this node${open ? `; the open round is ${open.round}` : ''}`, at);
    // Checked and merged on this node; the leader admits it (round open, selected, not a duplicate, steps, size) and accounts for it.
    return open.update(device.id, meta, frame, async (bytes) =>
      AckReplySchema.parse(await this.ask({ kind: 'update', deviceId: device.id, connectionId, meta, bytes }).catch((error: unknown) => refusal('unavailable', (error as Error).message, at))),
    );
  }

  /**
   * The round this node holds for an update of `round`: the task reached the device through the
   * Socket.IO adapter, the plan through the bus (another Redis connection), so the plan may still be
   * on its way; it is waited for a moment.
   */
  private async roundFor(round: number): Promise<NodeRound | null> {
    for (let waited = 0; waited < 3000 && (!this.current || this.current.round < round); waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.current;
  }

  /** A request to the leader, answered (or refused 'unavailable' when there is none). */
  private async ask(message: Record<string, unknown> & { kind: 'join' | 'telemetry' | 'update' | 'control' | 'config' }): Promise<unknown> {
    const leader = this.known;
    if (!leader) return refusal('unavailable', 'the cluster has no leader right now (one is taking over); try again in a few seconds');
    return this.bus.request(leader.nodeId, { ...message, from: this.nodeId, term: leader.term } as never, REQUEST_TIMEOUT_MS).catch((error: unknown) => refusal('unavailable', `the leader did not answer: ${(error as Error).message}; try again in a few seconds`));
  }

  /** A message to the leader that needs no answer (a device's probe, progress, leaving). */
  private tell(message: Record<string, unknown> & { kind: 'probe' | 'progress' | 'gone'; deviceId: string; connectionId: string }): void {
    if (this.leading) {
      void this.onRequest({ ...message, from: this.nodeId, term: this.leading.term } as NodeRequest);
      return;
    }
    const leader = this.known;
    if (!leader) return;
    void this.bus.toNode(leader.nodeId, { ...message, from: this.nodeId, term: leader.term } as NodeRequest).catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'message to the leader failed'));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.board?.close();
    await this.transition;
    await this.draining;
    await this.measuring;
    this.bus.close();
    try {
      if (this.lease) await this.store.release(this.lease);
      await this.store.forget(this.nodeId);
    } catch {
      // Redis gone already: the lease and the heartbeat expire by themselves.
    }
    this.lease = null;
    this.leading = null;
    this.loopDelay.disable();
    for (const client of [this.redis, this.sub, ...this.adapterClients, this.leaseClient]) client.disconnect();
  }
}

function notLeading(nodeId: string): Refusal {
  return refusal('unavailable', `node ${nodeId} lost the lead while this device joined; say hello again in a few seconds`);
}

function notJoined(deviceId: string): Refusal {
  return refusal('not-joined', `device ${deviceId} is not joined on this connection; send device:hello again`);
}
