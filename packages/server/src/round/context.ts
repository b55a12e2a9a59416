// What the round engine works with. The coordinator owns these and hands them to one round (or the
// async engine) at a time; nothing here is a socket.
import type { Aggregator, DeviceRoundRecord, MergeKernel, ModelRef, PrecisionPolicy, RoundSummary } from '@fedbit/core';
import type { Logger } from 'pino';
import type { RunConfig } from '../config';
import type { DeviceRegistry } from '../devices/registry';
import type { ServerMetrics } from '../metrics';
import type { ModelHost } from '../model-host';
import type { ModelVersions } from '../model-versions';
import type { CheckpointState, RunStore } from '../store';
import type { Transport } from '../transport/transport';
import type { RunState } from './run-state';
import type { SplitServer } from '../split/split-server';

export interface RoundContext {
  /** The live config: a patch between rounds is seen by the next one. */
  readonly config: RunConfig;
  readonly policy: PrecisionPolicy;
  readonly run: RunState;
  readonly runId: string;
  readonly devices: DeviceRegistry;
  readonly host: ModelHost;
  /** The model versions served over HTTP; a task names one of them. */
  readonly models: ModelVersions;
  /** Where the weighted means keep their running sum: WebAssembly SIMD, or the JavaScript loops (server/src/merge). */
  readonly mergeKernel: MergeKernel;
  readonly store: RunStore;
  readonly transport: Transport;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  /** The largest frame a device may send: a 32-bit frame of the whole model. */
  readonly maxUpdateBytes: number;
  /** Split learning (docs/SPLIT.md): the server's part of the model and its per-step engine; null when devices train the whole model. */
  readonly split: SplitServer | null;
  /** A node of a cluster (docs/SCALE.md, section 3); null for one process. */
  readonly cluster: ClusterHooks | null;
  /** Something changed that the dashboard or the devices should see. */
  notify(): void;
  /** A version was committed: listeners (the transport's summary broadcast, benchmarks) hear it. */
  committed(summary: RoundSummary): void;
}

/** The open round as the cluster sees it: open-round.ts's OpenRound, said here by shape so imports stay one-way. */
export interface ClusterRound {
  readonly round: number;
  readonly deadlineAt: number;
  readonly model: ModelRef;
  readonly aggregator: Aggregator;
  readonly slots: ReadonlyMap<string, { device: { id: string }; assignment: { bits: number }; work: { steps: number }; weight: number; status: 'pending' | 'accepted' | 'gone'; record: DeviceRoundRecord | null }>;
}

/** What a round asks of the other nodes of a cluster (cluster/node.ts implements it). */
export interface ClusterHooks {
  /** A round opened: the other nodes learn its plan and the update norm bound, so they can check and merge their own devices' updates. */
  roundOpened(open: ClusterRound, clipNorm: number | null): Promise<void>;
  /** The round closed: the other nodes' partial sums are added to the round's aggregator; the updates of a node that does not deliver one become missed. */
  gather(open: ClusterRound): Promise<void>;
  /** The commit point: the checkpoint written where any node can take over from; throws if this node no longer leads. */
  replicate(state: CheckpointState, weights: Float32Array, ema: Float32Array | null): Promise<void>;
}
