// The run at a glance (GET /api/status and the dashboard's live feed) and the running totals
// both the aggregator and a device keep. No secrets in here.
import type { DeviceState, LoraMethod, RunMode, RunPhase } from '../vocabulary';
import type { Progress } from './schemas';

/** The system's modelled energy and bytes so far, summed over committed rounds. */
export interface RunTotals {
  energyJ: number;
  computeJ: number;
  transmitJ: number;
  /** Receiving the global model. */
  receiveJ: number;
  uplinkBytes: number;
  downlinkBytes: number;
}

export function emptyRunTotals(): RunTotals {
  return { energyJ: 0, computeJ: 0, transmitJ: 0, receiveJ: 0, uplinkBytes: 0, downlinkBytes: 0 };
}

/** Adds a committed round's figures to the totals, in place. */
export function addToRunTotals(totals: RunTotals, round: Omit<RunTotals, 'receiveJ'> & { receiveJ?: number }): RunTotals {
  totals.energyJ += round.energyJ;
  totals.computeJ += round.computeJ;
  totals.transmitJ += round.transmitJ;
  totals.receiveJ += round.receiveJ ?? 0;
  totals.uplinkBytes += round.uplinkBytes;
  totals.downlinkBytes += round.downlinkBytes;
  return totals;
}

/** One device's own figures over its accepted updates, as its page shows them. */
export interface DeviceTotals {
  energyJ: number;
  computeJ: number;
  transmitJ: number;
  receiveJ: number;
  uplinkBytes: number;
  /** What the same updates would have sent at 32 bits. */
  uplinkBytesFp32: number;
  rounds: number;
}

export function emptyDeviceTotals(): DeviceTotals {
  return { energyJ: 0, computeJ: 0, transmitJ: 0, receiveJ: 0, uplinkBytes: 0, uplinkBytesFp32: 0, rounds: 0 };
}

export interface DeviceStatus {
  id: string;
  name: string;
  platform: string;
  backend: string;
  adapter: string | null;
  bits: number | null;
  /** Split runs: how it trains this round or last (full, or split keeping this share of its front); absent otherwise. */
  trainingMode?: { mode: 'full' | 'split'; keepRatio: number };
  battery: number | null;
  charging: boolean | null;
  preference: string;
  deviceClass: string;
  uplinkBps: number | null;
  downlinkBps: number | null;
  energyJ: number;
  state: string;
  progress: Progress | null;
  lastLoss: number | null;
}

export interface OpenRoundStatus {
  round: number;
  deadlineAt: number;
  selected: number;
  received: number;
  /** Updates the round needs to be committed. */
  quorum?: number;
}

/** How the last round ended, in plain words for the dashboard and the device page. */
export interface LastRoundStatus {
  round: number;
  outcome: 'committed' | 'dropped';
  accepted: number;
  selected: number;
  quorum: number;
  closedBy: 'all-answered' | 'deadline' | 'buffer-full' | 'stopped';
  /** e.g. "round 4 closed with 1 of 3 updates at its 60 s deadline; the next round gives slow devices fewer steps". */
  message: string;
  at: number;
}

/** A LoRA fine-tuning run at a glance: what is fine-tuned and what the adapters cost against the full model. */
export interface LoraStatus {
  /** The base's name and identity (SHA-256 of its weights). */
  base: string;
  baseSha256: string;
  method: LoraMethod;
  rank: number;
  targets: string[];
  /** Parameters a device trains and uploads (the adapter vector) and the full model's. */
  adapterParams: number;
  modelParams: number;
  /** One update at 32 bits: the adapter vector's frame and the full model's (what full fine-tuning would send). */
  adapterFrameBytes32: number;
  fullFrameBytes32: number;
  /** The base's 16-bit frame, fetched once per device per run. */
  baseBytes: number;
}

export interface SecureRoundStatus {
  round: number;
  outcome: 'committed' | 'abandoned';
  /** Devices that advertised keys after training. */
  roster: number;
  /** Devices whose masked input is in the sum. */
  survivors: number;
  /** Devices of the roster whose input is not in the sum (dropped before or after sharing keys). */
  dropped: number;
  message: string;
}

/** A cluster of aggregator nodes (docs/SCALE.md, section 3): who answered, who leads. */
export interface ClusterStatus {
  /** The node that answered this status. */
  node: string;
  /** The node that leads the cluster (null between leaders) and its term. */
  leader: string | null;
  term: number | null;
  /** The devices connected to each node, as the leader knows them (empty when the leader's view is not at hand). */
  nodes: Array<{ node: string; devices: number }>;
  /** Set when the answer is the answering node's own view, not the leader's: why. */
  note?: string;
}

/** Every device the run knows, counted, and how many of them a status lists. */
export interface DeviceCounts {
  /** Devices the run knows (joined at some time, connected or not). */
  total: number;
  /** On a connection now. */
  connected: number;
  /** How many the status's `devices` holds: `total`, or STATUS_DEVICE_PAGE (protocol/device-page.ts) when there are more. */
  listed: number;
  byState: Record<DeviceState, number>;
}

export interface RunStatus {
  run: string;
  round: number;
  rounds: number;
  phase: RunPhase;
  mode?: RunMode;
  policy: unknown;
  config: {
    devicesPerRound: number;
    localSteps: number;
    quorum: number;
    deadlineS: number;
    dataset: string;
    modelSize: string;
    localWork?: 'fixed' | 'budget';
    aggregation?: string;
    asyncBuffer?: number;
    maxStaleness?: number;
    /** Samples are drawn with the EMA of the committed models at this decay (0 = the latest model). */
    emaDecay?: number;
    /** A class-conditional model: the classes it draws on request (GET /api/samples?label=k). */
    classNames?: string[];
  };
  currentRound: OpenRoundStatus | null;
  /** What the run is waiting for right now, in plain words, or null when it is training. */
  wait?: string | null;
  lastRound?: LastRoundStatus | null;
  /** Rounds closed without reaching their quorum since the server started. */
  droppedRounds?: number;
  /** New model versions per minute over the last five minutes. */
  versionsPerMinute?: number | null;
  /** Async: merged updates by staleness (index = versions behind). */
  stalenessHistogram?: number[];
  /** Differential privacy: epsilon spent so far (null before the first round) at delta, and the mechanism's parameters; null when off. */
  privacy?: {
    epsilon: number | null;
    delta: number;
    noiseMultiplier: number;
    clipNorm: number;
    /** Where the noise is added: 'central' on the aggregator, 'distributed' by the devices under secure aggregation (the discrete Gaussian, planned for `survival` of a round's devices). */
    mechanism?: 'central' | 'distributed';
    survival?: number;
    /** Distributed only: whether the devices flatten their updates by the round's random rotation before rounding (core/privacy/rotation.ts). */
    rotation?: boolean;
  } | null;
  /** Secure aggregation: what the aggregator sees, and the last secure round's roster, survivors (masked inputs summed) and dropped; null when off. */
  secureAggregation?: { note: string; lastRound: SecureRoundStatus | null } | null;
  /** Merge safeguards: the norm bound relative to the model (null = off). */
  maxUpdateNormRatio?: number | null;
  /** A LoRA fine-tuning run's base and adapters; null (or absent) for full training. */
  lora?: LoraStatus | null;
  /** Every device up to STATUS_DEVICE_PAGE; above that, that many: those at work (training or uploaded), then the latest to join (GET /api/devices pages through all). In the order they joined. */
  devices: DeviceStatus[];
  /** The devices counted, all of them, and how many `devices` lists. */
  deviceCounts?: DeviceCounts;
  totals: RunTotals;
  energyUnit: 'modelled joules';
  /** A node of a cluster: the cluster's view, with the node that answered and the leader; absent for one process. */
  cluster?: ClusterStatus;
}
