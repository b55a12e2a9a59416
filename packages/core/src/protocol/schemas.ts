// The wire protocol between a device and the aggregator: event names and zod schemas, shared by
// packages/client and packages/server so both sides validate the same shapes. docs/PROTOCOL.md
// describes each event; keep the two in step.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/** Events a device sends. Every payload is validated by the schema of the same name before use. */
export const DeviceEvent = {
  hello: 'device:hello',
  telemetry: 'device:telemetry',
  probe: 'device:probe',
  progress: 'device:progress',
  update: 'device:update',
  leave: 'device:leave',
} as const;

/** Events the aggregator sends. */
export const ServerEvent = {
  task: 'round:task',
  summary: 'round:summary',
  cancel: 'round:cancel',
  refused: 'device:refused',
  status: 'run:status',
} as const;

export const DEVICE_EVENTS: readonly string[] = Object.values(DeviceEvent);

export const PreferenceSchema = z.enum(['save-battery', 'balanced', 'best-quality']);
export const DeviceClassSchema = z.enum(['phone', 'laptop', 'desktop']);
export const BackendSchema = z.enum(['webgpu', 'webgl', 'wasm', 'cpu']);
export const BitsSchema = z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32)]);

const finite = () => z.number().refine(Number.isFinite, 'must be a finite number');

export const TelemetrySchema = z
  .object({
    /** 0..1, or null where the browser does not report it (navigator.getBattery is Chromium-only). */
    battery: z.number().min(0).max(1).nullable(),
    charging: z.boolean().nullable(),
    preference: PreferenceSchema,
    deviceClass: DeviceClassSchema,
    /** Transmit power in watts; default 0.2 W (23 dBm, 3GPP power class 3). */
    transmitPowerW: z.number().positive().max(10).optional(),
    /** Device throughput for the latency model, multiply-accumulates per second. */
    macsPerSecond: z.number().positive().max(1e15).optional(),
    /** navigator.connection, a hint only: Chromium caps downlink at 10 Mbps. */
    connectionHint: z
      .object({ downlinkMbps: z.number().nonnegative().max(1e5).optional(), effectiveType: z.string().max(16).optional() })
      .strict()
      .optional(),
    /** The device's own timing of its last upload: frame bytes and milliseconds from send to acknowledgement. */
    lastUpload: z.object({ bytes: z.number().int().positive(), ms: z.number().positive().max(3.6e6) }).strict().optional(),
  })
  .strict();

export const HelloSchema = z
  .object({
    protocol: z.literal(PROTOCOL_VERSION),
    /** Present on a reconnect: the id the aggregator gave before. */
    deviceId: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'letters, digits, _ or -, 6 to 64 long').optional(),
    name: z.string().trim().min(1).max(64),
    platform: z.enum(['browser', 'node']),
    backend: BackendSchema,
    adapter: z
      .object({ vendor: z.string().max(128), architecture: z.string().max(128), description: z.string().max(256).optional() })
      .strict()
      .optional(),
    userAgent: z.string().max(512).optional(),
    telemetry: TelemetrySchema,
  })
  .strict();

export const ProbeSchema = z.object({ bytes: z.number().int().positive().max(1 << 20) }).strict();

export const ProgressSchema = z
  .object({
    round: z.number().int().positive(),
    step: z.number().int().nonnegative(),
    steps: z.number().int().positive(),
    loss: finite(),
  })
  .strict();

export const UpdateMetaSchema = z
  .object({
    round: z.number().int().positive(),
    /** Local training samples behind this update: its FedAvg weight. */
    samples: z.number().int().positive().max(1e8),
    steps: z.number().int().positive().max(1e6),
    trainMs: z.number().nonnegative().max(3.6e6),
    loss: finite(),
    /** ||local - global||^2 before quantization: the policy's estimate of V_k(n) for the next round. */
    updateNormSq: z.number().nonnegative().refine(Number.isFinite, 'must be finite'),
    /** max |local - global|: with the norm, it gives the codec's tight variance bound V_k(n). */
    updateMaxAbs: z.number().nonnegative().refine(Number.isFinite, 'must be finite').optional(),
  })
  .strict();

export const LeaveSchema = z.object({ reason: z.string().max(200).optional() }).strict();

export type Telemetry = z.infer<typeof TelemetrySchema>;
export type Hello = z.infer<typeof HelloSchema>;
export type Probe = z.infer<typeof ProbeSchema>;
export type Progress = z.infer<typeof ProgressSchema>;
export type UpdateMeta = z.infer<typeof UpdateMetaSchema>;
export type Leave = z.infer<typeof LeaveSchema>;

// ---- what the aggregator sends (typed only: the device trusts its own server, but checks shapes) ----

export interface ShardSpec {
  dataset: 'mnist' | 'emoji';
  imageSize: number;
  partition: 'iid' | 'dirichlet' | 'vendor';
  alpha: number;
  seed: number;
  /** This device's shard and how many shards the training split is cut into. */
  index: number;
  count: number;
}

export interface Welcome {
  deviceId: string;
  runId: string;
  round: number;
  phase: RunPhase;
  /** Model config as packages/diffusion's ModelConfig (a plain JSON object). */
  model: Record<string, unknown>;
  layoutFingerprint: string;
  paramCount: number;
  schedule: { kind: 'linear' | 'cosine'; steps: number };
  shard: ShardSpec;
  maxUpdateBytes: number;
}

export interface Task {
  round: number;
  /** Upload precision assigned by the policy this round. */
  bits: 1 | 2 | 4 | 8 | 16 | 32;
  /** Precision of quantization-aware local training (fake-quant); 32 = off. */
  trainBits: number;
  localSteps: number;
  batchSize: number;
  learningRate: number;
  /** Milliseconds from receipt until the aggregator closes the round. */
  deadlineMs: number;
  seed: number;
  errorFeedback: boolean;
  blockSize: number;
}

export type RunPhase = 'waiting' | 'training' | 'paused' | 'done' | 'stopped';

export type RefusalCode =
  | 'bad-join-code'
  | 'not-joined'
  | 'schema'
  | 'unknown-event'
  | 'stale-round'
  | 'not-selected'
  | 'duplicate'
  | 'late'
  | 'wrong-length'
  | 'malformed-frame'
  | 'bad-checksum'
  | 'bad-value'
  | 'oversized'
  | 'rate-limited'
  | 'model-mismatch';

export interface Refusal {
  ok: false;
  code: RefusalCode;
  reason: string;
  event?: string;
  field?: string;
  round?: number;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type Ack<T extends object = {}> = ({ ok: true } & T) | Refusal;

export interface DeviceRoundRecord {
  deviceId: string;
  name: string;
  bits: number;
  trainBits: number;
  reason: string;
  status: 'accepted' | 'missed' | 'refused';
  samples: number;
  loss: number | null;
  trainMs: number | null;
  frameBytes: number;
  uplinkBps: number;
  computeJ: number;
  transmitJ: number;
  energyJ: number;
  battery: number | null;
  charging: boolean | null;
}

export interface RoundSummary {
  round: number;
  policy: string;
  startedAt: string;
  wallS: number;
  participants: number;
  accepted: number;
  loss: number | null;
  computeJ: number;
  transmitJ: number;
  energyJ: number;
  uplinkBytes: number;
  /** What the same accepted updates would have sent at 32 bits. */
  uplinkBytesFp32: number;
  downlinkBytes: number;
  bits: Record<string, number>;
  fidMnist?: number;
  classEntropyBits?: number;
  devices: DeviceRoundRecord[];
}

/** Turns a zod error into one line a person can act on: which field, what was wrong, what was expected. */
export function describeZodError(error: z.ZodError): { field: string; reason: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', reason: 'invalid payload' };
  const field = issue.path.map(String).join('.') || '(payload)';
  return { field, reason: `${field}: ${issue.message}` };
}
