// A round as a node that does not lead holds it (docs/SCALE.md, section 3): the leader's plan for
// this node's devices (precision, steps, FedAvg weight) and this node's partial sum. A device's
// update is checked here against the plan (the frame's own checks: header, precision, checksum,
// scales), admitted by the leader, and only then merged; when the round closes the partial sum is
// encoded for Redis (partial.ts). Update frames never leave the node their device is connected to.
import { FrameError, createAggregator, inspectFrame, readFrameHeader, type Ack, type Aggregator, type MergeKernel, type UpdateMeta } from '@fedbit/core';
import type { RunConfig } from '../config';
import { frameErrorCode, refusal } from '../round/refusals';
import type { LeaderMessage, PlannedSlot } from './messages';
import { encodePartial } from './partial';

type RoundOpen = Extract<LeaderMessage, { kind: 'round-open' }>;

export class NodeRound {
  readonly round: number;
  readonly term: number;
  private readonly slots: Map<string, PlannedSlot & { accepted: boolean }>;
  private readonly aggregator: Aggregator;
  private readonly merged: string[] = [];
  /** Updates waiting for the leader's admission: the round's partial waits for them. */
  private readonly inflight = new Set<Promise<unknown>>();
  closed = false;

  constructor(plan: RoundOpen, aggregation: RunConfig['aggregation'], kernel: MergeKernel) {
    this.round = plan.round;
    this.term = plan.term;
    this.slots = new Map(plan.slots.map((slot) => [slot.deviceId, { ...slot, accepted: false }]));
    this.aggregator = createAggregator(aggregation, { length: plan.length, clipNorm: plan.clipNorm, kernel });
  }

  /**
   * A device's update: checked against the plan here, admitted by the leader (`admit`, which sees
   * the frame's size only), then merged into this node's partial sum. A refusal changes nothing.
   */
  async update(deviceId: string, meta: UpdateMeta, frame: Uint8Array, admit: (bytes: number) => Promise<Ack>): Promise<Ack> {
    const at = { round: meta.round };
    if (this.closed) return refusal('late', `round ${this.round} closed before this update arrived`, at);
    const slot = this.slots.get(deviceId);
    if (!slot) return refusal('not-selected', `this device was not selected for round ${this.round}`, at);
    if (slot.accepted) return refusal('duplicate', `an update from this device for round ${this.round} was already accepted`, at);
    // The frame's own checks here, where it stays; the round's at the leader.
    let checked;
    try {
      const header = readFrameHeader(frame);
      if (header.bits !== slot.bits) return refusal('bad-value', `frame is at ${header.bits} bits; this device was assigned ${slot.bits}`, { field: 'bits', ...at });
      checked = inspectFrame(frame, { length: this.aggregator.length, round: meta.round });
    } catch (error) {
      if (error instanceof FrameError) return refusal(frameErrorCode(error), error.message, { field: error.field, ...at });
      throw error;
    }
    if (meta.steps > slot.steps) return refusal('bad-value', `update says ${meta.steps} local steps; this task asked for at most ${slot.steps}`, { field: 'steps', ...at });
    slot.accepted = true; // held while the leader answers: a second copy is a duplicate
    const asked = admit(checked.frame.byteLength);
    this.inflight.add(asked);
    try {
      const reply = await asked;
      if (!reply.ok) {
        slot.accepted = false;
        return reply;
      }
      this.aggregator.add(frame, slot.weight, { steps: meta.steps });
      this.merged.push(deviceId);
      return { ok: true };
    } finally {
      this.inflight.delete(asked);
    }
  }

  /** Closes the round once the updates the leader is admitting are settled. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    this.closed = true;
  }

  /** The closed round's partial sum, encoded for Redis. */
  partialBytes(nodeId: string): Uint8Array {
    const partial = this.aggregator.partial?.();
    if (!partial) throw new Error(`the ${this.aggregator.rule} rule has no partial sum`);
    return encodePartial({ round: this.round, term: this.term, nodeId, devices: this.merged }, partial);
  }
}
