// A merge whose result does not depend on the order updates arrive in. Floating-point addition is
// not associative: the same updates summed in another order can differ in the last bit, and over a
// run those bits become different weights. This wrapper checks each update when it arrives (so a
// refusal still comes at once and changes nothing), keeps the frame, and adds them all to the rule
// it wraps in ascending `order` (the device's seat) when the round finishes. It costs the frames'
// bytes in memory until then (one low-bit frame per device), so runs turn it on with
// `"reproducible": true`; the streaming merge stays the default.
import { inspectFrame } from '../quant/codec';
import type { Aggregator, UpdateInfo } from './aggregator';
import { fedNovaScale } from './fednova';
import { stalenessDiscount } from './staleness';
import type { AddedUpdate } from './streaming';
import { assertWeight } from './weight';

interface Held {
  frame: Uint8Array;
  weight: number;
  info: UpdateInfo;
  order: number;
}

export class OrderedAggregator implements Aggregator {
  private held: Held[] = [];
  private weightSum = 0;

  constructor(private readonly inner: Aggregator) {}

  get rule(): string {
    return this.inner.rule;
  }
  get length(): number {
    return this.inner.length;
  }
  get count(): number {
    return this.held.length;
  }
  get totalWeight(): number {
    return this.weightSum;
  }

  /** Checks the update as the wrapped rule would (frame, weight, steps, staleness) and keeps it; `info.order` sets its place in the sum. */
  add(frame: Uint8Array, weight: number, info: UpdateInfo = {}): AddedUpdate {
    assertWeight(weight);
    fedNovaScale(info.steps ?? 1);
    stalenessDiscount(info.staleness ?? 0);
    const order = info.order ?? this.held.length;
    if (!Number.isFinite(order)) throw new RangeError(`order ${order} refused: expected a finite number`);
    const checked = inspectFrame(frame, { length: this.length });
    this.held.push({ frame, weight, info, order });
    this.weightSum += weight;
    return { header: checked.header, weight, norm: undefined, clipFactor: 1 };
  }

  finish(): Float32Array {
    this.inner.reset();
    const ordered = [...this.held].sort((a, b) => a.order - b.order);
    for (const { frame, weight, info } of ordered) this.inner.add(frame, weight, info);
    return this.inner.finish();
  }

  reset(): void {
    this.held = [];
    this.weightSum = 0;
    this.inner.reset();
  }

  describe(): Record<string, unknown> {
    return { ...this.inner.describe(), order: 'by device seat, at the end of the round' };
  }
}
