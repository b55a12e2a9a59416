// What the device runtime tells a page or a CLI, as a stream: its state, its backend and why, each
// task and step, each upload with its modelled energy, the run's summaries and briefs, and errors.
import type { RoundSummary, RunBrief, Welcome } from '@fedbit/core';
import type { BackendInfo } from '@fedbit/diffusion';
import type { BackendTrial } from './backend-trial';

export type RuntimeEvent =
  | { type: 'status'; state: 'connecting' | 'joined' | 'idle' | 'training' | 'uploading' | 'disconnected' | 'left'; message?: string }
  | { type: 'joined'; deviceId: string; resumeToken: string | undefined; welcome: Welcome; backend: BackendInfo; shardSize: number }
  | { type: 'backend-trial'; chosen: string; stepMs: number; trials: BackendTrial[]; reason: string }
  | { type: 'bandwidth'; uplinkBps: number }
  /** A LoRA run: the base was fetched (once, 16 bits) and adapters attached; tasks train only them. */
  | { type: 'lora'; base: string; method: string; rank: number; adapterParams: number; baseBytes: number }
  | { type: 'task'; round: number; bits: number; trainBits: number; localSteps: number; mode: 'sync' | 'async'; version: number | null; timeBudgetMs: number | null }
  | { type: 'step'; round: number; step: number; steps: number; loss: number }
  | {
      type: 'uploaded';
      round: number;
      bits: number;
      bytes: number;
      fp32Bytes: number;
      ms: number;
      accepted: boolean;
      reason?: string;
      steps: number;
      computeJ: number;
      transmitJ: number;
      receiveJ: number;
      energyJ: number;
      trainMs: number;
    }
  | { type: 'summary'; summary: RoundSummary }
  | { type: 'brief'; brief: RunBrief }
  | { type: 'error'; message: string; code?: string };
