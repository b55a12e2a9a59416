// The nodes' message bus over Redis pub/sub: a channel every node hears (the leader's announcements)
// and one per node (requests to the leader, replies). Every message is parsed with its schema
// (messages.ts) before anyone acts on it; one that fails is counted, logged and dropped. A request
// with an id gets one reply, or a timeout.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeZodError } from '@fedbit/core';
import { BusMessageSchema, type LeaderMessage, type NodeRequest } from './messages';

type Outgoing = NodeRequest | LeaderMessage;
/** A request before the bus gives it its id. */
type Unaddressed<T> = T extends { id: string } ? Omit<T, 'id'> : never;

export class Bus {
  /** Messages dropped because they were not what a schema expects. */
  refused = 0;
  private readonly pending = new Map<string, { resolve: (body: unknown) => void; timer: ReturnType<typeof setTimeout> }>();
  private counter = 0;

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly log: Logger,
    private readonly handle: (message: NodeRequest | LeaderMessage) => void,
  ) {}

  private channel(to: string | null): string {
    return to === null ? `${this.prefix}:bus:all` : `${this.prefix}:bus:node:${to}`;
  }

  async start(): Promise<void> {
    this.sub.on('message', (_channel: string, text: string) => this.receive(text));
    await this.sub.subscribe(this.channel(null), this.channel(this.nodeId));
  }

  private receive(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.refuse('not JSON', text);
      return;
    }
    const parsed = BusMessageSchema.safeParse(json);
    if (!parsed.success) return this.refuse(describeZodError(parsed.error).reason, text);
    const message = parsed.data;
    if (message.from === this.nodeId) return; // our own announcement, heard on the channel for all
    if (message.kind === 'reply') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return; // timed out already
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      waiting.resolve(message.body);
      return;
    }
    this.handle(message);
  }

  refuse(reason: string, text: string): void {
    this.refused++;
    this.log.warn({ reason, message: text.slice(0, 200) }, 'cluster message refused');
  }

  /** To every node (the leader's announcements). */
  async toAll(message: LeaderMessage): Promise<void> {
    await this.pub.publish(this.channel(null), JSON.stringify(message));
  }

  async toNode(nodeId: string, message: Outgoing): Promise<void> {
    await this.pub.publish(this.channel(nodeId), JSON.stringify(message));
  }

  async reply(nodeId: string, id: string, body: unknown): Promise<void> {
    await this.pub.publish(this.channel(nodeId), JSON.stringify({ kind: 'reply', id, from: this.nodeId, body }));
  }

  /** Sends a request to a node and resolves with its reply's body, or rejects after timeoutMs. */
  request(nodeId: string, message: Unaddressed<NodeRequest>, timeoutMs: number): Promise<unknown> {
    const id = `${this.nodeId}-${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`node ${nodeId} did not answer ${message.kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.toNode(nodeId, { ...message, id } as NodeRequest).catch((error: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(error as Error);
      });
    });
  }

  close(): void {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
