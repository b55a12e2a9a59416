// The device page's state, folded from the worker's runtime events. Pure, so it reads top to bottom.
import type { RuntimeEvent } from '@fedbit/client';
// Types only from core: a value import would pull zod and every schema into the page's first load.
import type { DeviceTotals, RunBrief } from '@fedbit/core';
import type { FromWorker } from './messages';

export type Phase =
  | 'not-joined'
  | 'starting'
  | 'connecting'
  | 'waiting'
  | 'training'
  | 'uploading'
  | 'waiting-for-others'
  | 'disconnected'
  | 'left';

export interface RoundRecord {
  round: number;
  bits: number;
  bytes: number | null;
  fp32Bytes: number | null;
  accepted: boolean | null;
  energyJ: number | null;
}

export interface DeviceState {
  phase: Phase;
  message: string | null;
  error: string | null;
  deviceId: string | null;
  backend: string | null;
  adapter: { vendor: string; architecture: string; description?: string } | null;
  runRound: number;
  runRounds: number | null;
  uplinkBps: number | null;
  round: number | null;
  bits: number | null;
  trainBits: number | null;
  step: number;
  steps: number;
  losses: number[];
  history: RoundRecord[];
  totals: DeviceTotals;
  /** Why this backend: the step times the device measured at join. */
  backendReason: string | null;
  /** Milliseconds per local training step this device measured (its backend trial, then its tasks). */
  stepMs: number | null;
  /** The run at a glance, as the aggregator last told every device. */
  brief: RunBrief | null;
  /** The task now or last: sync round or async task, the model version it trains from, its time budget. */
  mode: 'sync' | 'async' | null;
  version: number | null;
  timeBudgetMs: number | null;
  /** The last committed round: the sample images of the global model after it. */
  committed: number;
  lastGlobalLoss: number | null;
  /** A LoRA run: this device fine-tunes adapters of this base (fetched once); null for full training. */
  lora: { base: string; method: string; rank: number; adapterParams: number; baseBytes: number } | null;
}

export const initialState: DeviceState = {
  phase: 'not-joined',
  message: null,
  error: null,
  deviceId: null,
  backend: null,
  adapter: null,
  runRound: 0,
  runRounds: null,
  uplinkBps: null,
  round: null,
  bits: null,
  trainBits: null,
  step: 0,
  steps: 0,
  losses: [],
  history: [],
  lora: null,
  totals: { energyJ: 0, computeJ: 0, transmitJ: 0, receiveJ: 0, uplinkBytes: 0, uplinkBytesFp32: 0, rounds: 0 },
  backendReason: null,
  stepMs: null,
  brief: null,
  mode: null,
  version: null,
  timeBudgetMs: null,
  committed: 0,
  lastGlobalLoss: null,
};

const MAX_LOSSES = 400;

export type Action = FromWorker | { type: 'starting' };

function withRecord(history: RoundRecord[], round: number, patch: Partial<RoundRecord>): RoundRecord[] {
  const existing = history.find((r) => r.round === round);
  if (existing) return history.map((r) => (r.round === round ? { ...r, ...patch } : r));
  return [...history, { round, bits: 0, bytes: null, fp32Bytes: null, accepted: null, energyJ: null, ...patch }];
}

function onEvent(state: DeviceState, event: RuntimeEvent): DeviceState {
  switch (event.type) {
    case 'status': {
      const phase: Phase =
        event.state === 'idle'
          ? state.phase === 'uploading'
            ? 'waiting-for-others'
            : state.phase === 'waiting-for-others'
              ? state.phase
              : 'waiting'
          : event.state === 'joined'
            ? 'waiting'
            : event.state;
      return { ...state, phase, message: event.message ?? null };
    }
    case 'joined':
      return {
        ...state,
        error: null,
        deviceId: event.deviceId,
        backend: event.backend.backend,
        adapter: event.backend.adapter ?? null,
        runRound: event.welcome.round,
        committed: Math.max(state.committed, event.welcome.round),
      };
    case 'backend-trial':
      return { ...state, backend: event.chosen, backendReason: event.reason, stepMs: event.stepMs };
    case 'brief':
      return { ...state, brief: event.brief, runRound: Math.max(state.runRound, event.brief.version), runRounds: event.brief.rounds };
    case 'bandwidth':
      return { ...state, uplinkBps: event.uplinkBps };
    case 'task':
      return {
        ...state,
        round: event.round,
        bits: event.bits,
        trainBits: event.trainBits,
        mode: event.mode,
        version: event.version,
        timeBudgetMs: event.timeBudgetMs,
        step: 0,
        steps: event.localSteps,
        history: withRecord(state.history, event.round, { bits: event.bits }),
      };
    case 'step':
      // A step is proof of training, whatever status came before it.
      return {
        ...state,
        phase: state.phase === 'waiting' || state.phase === 'waiting-for-others' ? 'training' : state.phase,
        step: event.step,
        steps: event.steps,
        losses: [...state.losses, event.loss].slice(-MAX_LOSSES),
      };
    case 'uploaded':
      return {
        ...state,
        stepMs: event.steps > 0 ? event.trainMs / event.steps : state.stepMs,
        error: event.accepted ? state.error : `round ${event.round}: the aggregator did not take this update (${event.reason ?? 'no reason given'})`,
        history: withRecord(state.history, event.round, {
          bits: event.bits,
          bytes: event.bytes,
          fp32Bytes: event.fp32Bytes,
          accepted: event.accepted,
          energyJ: event.energyJ,
        }),
      };
    case 'summary': {
      const { summary } = event;
      const phase = state.phase === 'waiting-for-others' ? 'waiting' : state.phase;
      return { ...state, phase, runRound: summary.round, committed: summary.round, lastGlobalLoss: summary.loss };
    }
    case 'error':
      return { ...state, error: event.message };
    case 'lora':
      return { ...state, lora: { base: event.base, method: event.method, rank: event.rank, adapterParams: event.adapterParams, baseBytes: event.baseBytes } };
    default: {
      const never: never = event;
      return never;
    }
  }
}

export function reduce(state: DeviceState, action: Action): DeviceState {
  switch (action.type) {
    case 'starting':
      return { ...state, phase: 'starting', error: null };
    case 'event':
      return { ...onEvent(state, action.event), totals: action.totals };
    case 'fatal':
      return { ...state, phase: 'not-joined', error: action.message };
    case 'stopped':
      return { ...state, phase: state.phase === 'left' ? 'left' : 'not-joined' };
    default: {
      const never: never = action;
      return never;
    }
  }
}
