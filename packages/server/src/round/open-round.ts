// The round being trained right now: who was asked, at what precision and for how many steps, and
// what has arrived. admit() is the one gate for an update: every check runs before the frame
// touches the running sum, and a refusal changes nothing.
import { FrameError, readFrameHeader, type Aggregator, type SecAggTask, type ModelRef, type DeviceRoundRecord, type Refusal, type RefusalCode, type UpdateMeta } from '@fedbit/core';
import type { Device } from '../devices/registry';
import type { PlannedTask } from './plan';

export type SlotStatus = 'pending' | 'accepted' | 'gone';
export type ClosedBy = 'all-answered' | 'deadline' | 'buffer-full' | 'stopped';

export interface Slot extends PlannedTask {
  status: SlotStatus;
  record: DeviceRoundRecord | null;
}

import { frameErrorCode, refusal } from './refusals';

export { frameErrorCode, refusal };

export interface OpenRoundOptions {
  round: number;
  startedAt: number;
  /** The model version this round trains from, published once for every device (and any that rejoin). */
  model: ModelRef;
  aggregator: Aggregator;
  deadlineS: number;
  maxUpdateBytes: number;
  /** What an update is, for refusals (ModelHost.updateName). Default 'the model'. */
  updateName?: string;
  /** A secure round: the grid its tasks carry (a device that rejoins gets it again). */
  secure?: SecAggTask;
  /**
   * An update shorter than the aggregator (a split device's front in a round where others train
   * whole) made whole before it is merged: split/split-server.ts wholeUpdate. Called only after
   * the frame's header checks; may throw FrameError for a frame whose payload does not decode.
   */
  expand?: ExpandUpdate;
}

/** The whole update's frame, or a refusal (the update changes nothing). */
export type ExpandUpdate = (slot: Slot, frame: Uint8Array, round: number) => Uint8Array | Refusal;

export class OpenRound {
  readonly round: number;
  readonly startedAt: number;
  readonly model: ModelRef;
  readonly aggregator: Aggregator;
  readonly deadlineAt: number;
  readonly secure: SecAggTask | undefined;
  readonly slots = new Map<string, Slot>();
  closedBy: ClosedBy | null = null;
  private resolveClosed!: () => void;
  readonly whenClosed = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly maxUpdateBytes: number;
  private readonly updateName: string;
  private readonly expand: ExpandUpdate | undefined;

  constructor(options: OpenRoundOptions, tasks: PlannedTask[]) {
    this.round = options.round;
    this.startedAt = options.startedAt;
    this.model = options.model;
    this.aggregator = options.aggregator;
    this.secure = options.secure;
    this.maxUpdateBytes = options.maxUpdateBytes;
    this.updateName = options.updateName ?? 'the model';
    this.expand = options.expand;
    this.deadlineAt = options.startedAt + options.deadlineS * 1000;
    for (const task of tasks) this.slots.set(task.device.id, { ...task, status: 'pending', record: null });
    this.timer = setTimeout(() => this.close('deadline'), options.deadlineS * 1000);
  }

  get closed(): boolean {
    return this.closedBy !== null;
  }

  get accepted(): Slot[] {
    return [...this.slots.values()].filter((s) => s.status === 'accepted');
  }

  /** Closes early once no selected device is still expected to answer. */
  closeIfAllAnswered(): void {
    if ([...this.slots.values()].every((s) => s.status !== 'pending')) this.close('all-answered');
  }

  close(by: ClosedBy): void {
    if (this.closedBy) return;
    this.closedBy = by;
    clearTimeout(this.timer);
    this.resolveClosed();
  }

  /** A device left or lost its connection: the round does not wait for it. */
  gone(deviceId: string): void {
    const slot = this.slots.get(deviceId);
    if (slot?.status !== 'pending') return;
    slot.status = 'gone';
    this.closeIfAllAnswered();
  }

  /** A device that reconnects while it is still expected gets its task again: its slot, or null. */
  rejoined(device: Device): Slot | null {
    const slot = this.slots.get(device.id);
    if (!slot || this.closed) return null;
    if (slot.status === 'gone') slot.status = 'pending';
    if (slot.status !== 'pending') return null;
    slot.device = device;
    return slot;
  }

  /**
   * Checks an update and merges it into the aggregator. Returns the device's slot, now accepted,
   * or a refusal; a refusal leaves the round, the aggregator and the slot as they were.
   */
  admit(deviceId: string, meta: UpdateMeta, frame: Uint8Array): Slot | Refusal {
    const slot = this.expecting(deviceId, meta);
    if ('ok' in slot) return slot;
    const refused = mergeUpdate(this.aggregator, slot, meta, frame, this.maxUpdateBytes, 0, this.updateName, this.expand);
    if (refused) return refused;
    slot.status = 'accepted';
    return slot;
  }

  /**
   * Cluster (docs/SCALE.md, section 3): an update of `bytes` that the node its device is
   * connected to has checked and will merge into that node's partial sum. The round's own checks
   * run here; the frame never reaches this node.
   */
  admitElsewhere(deviceId: string, meta: UpdateMeta, bytes: number): Slot | Refusal {
    const slot = this.expecting(deviceId, meta);
    if ('ok' in slot) return slot;
    if (meta.steps > slot.work.steps) return refusal('bad-value', `update says ${meta.steps} local steps; this task asked for at most ${slot.work.steps}`, { field: 'steps', round: meta.round });
    if (bytes > this.maxUpdateBytes) return refusal('oversized', `frame of ${bytes} bytes; at most ${this.maxUpdateBytes} expected for ${this.updateName}`, { round: meta.round });
    slot.status = 'accepted';
    return slot;
  }

  /** The device's slot if this round still expects an update from it, or why not. */
  private expecting(deviceId: string, meta: UpdateMeta): Slot | Refusal {
    const at = { round: meta.round };
    if (meta.round !== this.round) return refusal('stale-round', `round ${meta.round} is not open; the open round is ${this.round}`, at);
    if (this.closed) return refusal('late', `round ${this.round} closed before this update arrived`, at);
    const slot = this.slots.get(deviceId);
    if (!slot) return refusal('not-selected', `this device was not selected for round ${this.round}`, at);
    if (slot.status === 'accepted') return refusal('duplicate', `an update from this device for round ${this.round} was already accepted`, at);
    return slot;
  }
}

/**
 * The checks every update passes in both modes (its step count within the task's, its size, the
 * frame's length, bits and round), then the merge into the aggregator. Returns a refusal, or null
 * once merged; a refusal changes nothing.
 */
export function mergeUpdate(
  aggregator: Aggregator,
  slot: Slot,
  meta: UpdateMeta,
  frame: Uint8Array,
  maxUpdateBytes: number,
  staleness = 0,
  updateName = 'the model',
  expand?: ExpandUpdate,
): Refusal | null {
  const at = { round: meta.round };
  if (meta.steps > slot.work.steps) {
    return refusal('bad-value', `update says ${meta.steps} local steps; this task asked for at most ${slot.work.steps}`, { field: 'steps', ...at });
  }
  if (frame.byteLength > maxUpdateBytes) {
    return refusal('oversized', `frame of ${frame.byteLength} bytes; at most ${maxUpdateBytes} expected for ${updateName}`, at);
  }
  try {
    const header = readFrameHeader(frame);
    // A split task uploads its front only (slot.uploadLength); a whole-model task the aggregator's length.
    const expected = slot.uploadLength;
    if (header.length !== expected) {
      return refusal('wrong-length', `frame holds ${header.length} values; ${slot.mode === 'split' ? 'the front this split task trains' : updateName} has ${expected}`, { field: 'length', ...at });
    }
    if (header.bits !== slot.assignment.bits) {
      return refusal('bad-value', `frame is at ${header.bits} bits; this device was assigned ${slot.assignment.bits}`, { field: 'bits', ...at });
    }
    if (header.round !== meta.round) {
      return refusal('bad-value', `frame says round ${header.round}, the message says ${meta.round}`, { field: 'round', ...at });
    }
    let merged = frame;
    if (expected !== aggregator.length) {
      if (!expand) throw new Error(`an update of ${expected} values for an aggregator of ${aggregator.length}, and no way to make it whole`);
      const whole = expand(slot, frame, meta.round);
      if (!(whole instanceof Uint8Array)) return whole;
      merged = whole;
    }
    aggregator.add(merged, slot.weight, { steps: meta.steps, staleness, order: slot.device.seat });
  } catch (error) {
    if (error instanceof FrameError) return refusal(frameErrorCode(error), error.message, { field: error.field, ...at });
    throw error;
  }
  return null;
}
