// The cluster's view of the run on every node (docs/SCALE.md, section 3). Only the leader knows the
// run: its round, its phase (paused or not), every device on every node. It publishes its status to
// Redis (`status`, fenced by its lease, kept three leases) when something changed, at most once a
// second; a node that follows answers GET /api/status and a new dashboard on /watch with that view,
// saying which node answered and which leads. Between leaders, or before the new leader's first
// view, a follower answers with its own view (the committed rounds only) and says so.
import type { ClusterStatus, RunStatus } from '@fedbit/core';
import type { Logger } from 'pino';
import type { Coordinator } from '../round/coordinator';
import { statusOf } from '../status';
import type { Leader, RedisStore } from './redis-store';

/** How often the leader looks whether its view changed. */
const PUBLISH_EVERY_MS = 1000;

export interface StatusSource {
  readonly nodeId: string;
  readonly leaseMs: number;
  /** The lease this node leads under, or null. */
  leading(): Leader | null;
  /** The leader as this node last saw it in Redis. */
  known(): Leader | null;
  /** Leader: the devices connected to each node, as far as it knows. */
  nodeDevices(): Array<{ node: string; devices: number }>;
}

export class StatusBoard {
  private dirty = true;
  private publishedAt = 0;
  private publishing = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly source: StatusSource,
    private readonly store: RedisStore,
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.unsubscribe = this.coordinator.onChange(() => (this.dirty = true));
    this.timer = setInterval(() => void this.publish(), PUBLISH_EVERY_MS);
  }

  /** A new leader publishes at once. */
  changed(): void {
    this.dirty = true;
    void this.publish();
  }

  /** Leader: its view, into Redis, when it changed (or its copy there would soon expire). */
  private async publish(): Promise<void> {
    const lease = this.source.leading();
    if (!lease || this.publishing) return;
    if (!this.dirty && Date.now() - this.publishedAt < this.source.leaseMs) return;
    this.publishing = true;
    this.dirty = false;
    try {
      const view = this.leaderView(lease);
      if (await this.store.putStatus(lease, JSON.stringify(view), 3 * this.source.leaseMs)) this.publishedAt = Date.now();
    } catch (error) {
      this.dirty = true;
      this.log.warn({ err: (error as Error).message }, 'publishing the cluster status failed');
    } finally {
      this.publishing = false;
    }
  }

  private leaderView(lease: Leader): RunStatus & { cluster: ClusterStatus } {
    return { ...statusOf(this.coordinator), cluster: { node: this.source.nodeId, leader: lease.nodeId, term: lease.term, nodes: this.source.nodeDevices() } };
  }

  /** The cluster's view of the run, as this node answers it. */
  async view(): Promise<RunStatus & { cluster: ClusterStatus }> {
    const lease = this.source.leading();
    if (lease) return this.leaderView(lease);
    const known = this.source.known();
    let text: string | null = null;
    try {
      text = await this.store.status();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'reading the cluster status failed');
    }
    if (text !== null && known) {
      try {
        const view = JSON.parse(text) as RunStatus & { cluster?: ClusterStatus };
        // Only the current leader's view: a dead leader's (its lease gone) is not the run's any more.
        if (view.cluster?.leader === known.nodeId && view.cluster.term === known.term) return { ...view, cluster: { ...view.cluster, node: this.source.nodeId } };
      } catch {
        this.log.warn({ key: this.store.key('status') }, 'the cluster status in Redis is not JSON: this node answers with its own view');
      }
    }
    const note = known
      ? `node ${known.nodeId} leads, but its view of the run is not in Redis yet: this is node ${this.source.nodeId}'s own view (committed rounds only)`
      : `no node leads right now (one is taking over): this is node ${this.source.nodeId}'s own view (committed rounds only)`;
    return { ...statusOf(this.coordinator), cluster: { node: this.source.nodeId, leader: known?.nodeId ?? null, term: known?.term ?? null, nodes: [], note } };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
  }
}
