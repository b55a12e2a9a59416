// The aggregator seam: how the round merges the updates it accepted. The round engine holds one
// Aggregator per open round (or per model version in buffered async mode) and only calls these
// methods, so a new rule (a robust rule), a wrapper (differential privacy, secure aggregation) or a
// partial sum shared across aggregator nodes plugs in here without touching the round. Build one
// with createAggregator (./spec.ts).
import type { AddedUpdate } from './streaming';

/**
 * What one node merged of a round (issue 17, several aggregator nodes as one): the float64 running
 * sum of weight * update, the weights added, how many updates, and the weight-times-steps FedNova
 * needs. Partials of the same round add up to the sum one node would have made, up to the order of
 * the float64 additions.
 */
export interface PartialSum {
  sum: Float64Array;
  weight: number;
  count: number;
  weightedSteps: number;
}

/** What the round knows about an update besides its frame and weight. */
export interface UpdateInfo {
  /** Local steps the device actually trained (FedNova normalises by them). Default 1. */
  steps?: number;
  /** Model versions merged since the version the update was trained from (FedBuff discounts it). Default 0. */
  staleness?: number;
  /** Where the update goes in a fixed-order sum (OrderedAggregator): the device's seat. Default: arrival. */
  order?: number;
}

export interface Aggregator {
  /** The rule's name as a run's config spells it, e.g. 'fedavg'. */
  readonly rule: string;
  /** Parameters in every update. */
  readonly length: number;
  /** Updates added since construction or the last reset. */
  readonly count: number;
  /** Sum of the weights of the updates added. */
  readonly totalWeight: number;
  /**
   * Checks an encoded update frame and merges it with this weight. Throws FrameError for a bad
   * frame and RangeError for a bad weight or info; on a throw the aggregator is unchanged.
   */
  add(frame: Uint8Array, weight: number, info?: UpdateInfo): AddedUpdate;
  /** The merged update to add to the global model. Throws if nothing was added. */
  finish(): Float32Array;
  reset(): void;
  /** The resolved parameters, written next to a run's results. */
  describe(): Record<string, unknown>;
  /** The rules whose merge is a sum (FedAvg, FedNova): what was merged so far, to be added on another node. */
  partial?(): PartialSum;
  /** Adds a partial sum of another node's updates, checked by the caller (length, finite values, weight > 0). */
  addPartial?(partial: PartialSum): void;
}
