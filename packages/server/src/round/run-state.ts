// The state of a run that outlives a round: the global model, what was committed, the totals, and
// what the dashboard needs to explain the run (dropped rounds, the last outcome, commit times).
// Written by the round engine (run-round.ts, run-async.ts) and the coordinator only.
import { emptyRunTotals, type WeightEma, type LastRoundStatus, type SecureRoundStatus, type RoundSummary, type RunPhase, type RunTotals } from '@fedbit/core';

/** The run as readers see it (status, HTTP, tests): the same object, typed read-only. */
export interface RunView {
  readonly phase: RunPhase;
  readonly completed: number;
  readonly global: Float32Array;
  readonly lossHistory: readonly number[];
  readonly totals: Readonly<RunTotals>;
  readonly summaries: readonly RoundSummary[];
  readonly droppedRounds: number;
  readonly lastRound: Readonly<LastRoundStatus> | null;
  readonly commitTimes: readonly number[];
  readonly stalenessCounts: readonly number[];
  readonly rdp: readonly number[];
  readonly secure: Readonly<SecureRoundStatus> | null;
  /** What samples and FID are drawn with: the EMA of the committed models, or the latest one. */
  readonly samplingWeights: Float32Array;
}

export class RunState implements RunView {
  phase: RunPhase = 'waiting';
  /** Committed rounds (in async mode, model versions). */
  completed = 0;
  lossHistory: number[] = [];
  totals: RunTotals = emptyRunTotals();
  summaries: RoundSummary[] = [];
  /** Seats handed out so far: the next device to join gets this one. */
  nextSeat = 0;
  droppedRounds = 0;
  lastRound: LastRoundStatus | null = null;
  /** When each version was committed (ms since the epoch), for versions per minute. */
  commitTimes: number[] = [];
  /** Async: merged updates counted by staleness. */
  stalenessCounts: number[] = [];
  /** Differential privacy: the Rényi DP spent so far, per order of RDP_ORDERS (empty when the run has no privacy). */
  rdp: number[] = [];
  /** Secure aggregation: how the last secure round ended (roster, survivors, dropped). */
  secure: SecureRoundStatus | null = null;
  /** Secure aggregation: the last committed mean update, whose per-block largest |value| sets the next grid (not kept across a restart: the first round after one uses the bound). */
  lastMeanUpdate: Float32Array | null = null;
  /** The EMA of the committed global models (null when the run's emaDecay is 0). */
  ema: WeightEma | null = null;

  constructor(public global: Float32Array) {}

  get samplingWeights(): Float32Array {
    return this.ema?.value ?? this.global;
  }
}
