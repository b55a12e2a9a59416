// What the round engine works with. The coordinator owns these and hands them to one round (or the
// async engine) at a time; nothing here is a socket.
import type { MergeKernel, PrecisionPolicy } from '@fedbit/core';
import type { Logger } from 'pino';
import type { RunConfig } from '../config';
import type { DeviceRegistry } from '../devices/registry';
import type { ServerMetrics } from '../metrics';
import type { ModelHost } from '../model-host';
import type { ModelVersions } from '../model-versions';
import type { RunStore } from '../store';
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
  /** Something changed that the dashboard or the devices should see. */
  notify(): void;
  /** A version was committed: listeners (the transport's summary broadcast, benchmarks) hear it. */
  committed(summary: import('@fedbit/core').RoundSummary): void;
}
