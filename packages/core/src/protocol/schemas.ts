// The wire protocol between a device and the aggregator: event names and zod schemas, shared by
// packages/client and packages/server so both sides validate the same shapes. docs/PROTOCOL.md
// describes each event; keep the two in step.
import { z } from 'zod';
import { BACKENDS, DATASETS, DEVICE_CLASSES, PARTITIONS, PLATFORMS, PREFERENCES, RUN_MODES, RUN_PHASES, type RunPhase } from '../vocabulary';
import { PROBE_LIMITS } from './limits';

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
  /** To devices: the run at a glance (RunBrief), so a device page can say what it waits for. */
  brief: 'run:brief',
} as const;

export const DEVICE_EVENTS: readonly string[] = Object.values(DeviceEvent);

export const PreferenceSchema = z.enum(PREFERENCES);
export const DeviceClassSchema = z.enum(DEVICE_CLASSES);
export const BackendSchema = z.enum(BACKENDS);
export const RunPhaseSchema = z.enum(RUN_PHASES);
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
    /** The backend the device trains on now (it may switch after timing each one). */
    backend: BackendSchema.optional(),
    /** The device's measured milliseconds per local training step at the run's batch size (its backend trial, then its rounds). */
    stepMs: z.number().positive().max(3.6e6).optional(),
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
    platform: z.enum(PLATFORMS),
    backend: BackendSchema,
    adapter: z
      .object({ vendor: z.string().max(128), architecture: z.string().max(128), description: z.string().max(256).optional() })
      .strict()
      .optional(),
    userAgent: z.string().max(512).optional(),
    telemetry: TelemetrySchema,
  })
  .strict();

export const ProbeSchema = z.object({ bytes: z.number().int().positive().max(PROBE_LIMITS.maxAcceptedBytes) }).strict();

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
    /** Local steps actually trained (time-budgeted work may stop before the task's localSteps). */
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

// ---- what the aggregator sends: the device checks each with these schemas (parseServerMessage) ----
// Not .strict(): a newer aggregator may add fields an older device can ignore.

const uint = () => z.number().int().nonnegative();

export const ShardSpecSchema = z.object({
  dataset: z.enum(DATASETS),
  imageSize: z.number().int().min(4).max(256),
  partition: z.enum(PARTITIONS),
  alpha: z.number().positive(),
  seed: uint(),
  /** This device's shard and how many shards the training split is cut into. */
  index: uint(),
  count: z.number().int().positive(),
}).refine((s) => s.index < s.count, { message: 'index must be below count', path: ['index'] });

export const WelcomeSchema = z.object({
  deviceId: z.string().min(1).max(64),
  runId: z.string().min(1).max(64),
  round: uint(),
  phase: RunPhaseSchema,
  /** Model config as packages/diffusion's ModelConfig; the device checks it with validateModelConfig. */
  model: z.record(z.string(), z.unknown()),
  layoutFingerprint: z.string().min(1).max(128),
  paramCount: z.number().int().positive(),
  schedule: z.object({ kind: z.enum(['linear', 'cosine']), steps: z.number().int().positive() }),
  shard: ShardSpecSchema,
  maxUpdateBytes: z.number().int().positive(),
  /** The run's batch size, so the device can time a training step before its first task. */
  batchSize: z.number().int().positive().optional(),
  /** How the run merges updates; absent = 'sync'. */
  mode: z.enum(RUN_MODES).optional(),
});

export const TaskSchema = z.object({
  round: z.number().int().positive(),
  /** Upload precision assigned by the policy this round. */
  bits: BitsSchema,
  /** Precision of quantization-aware local training (fake-quant); 32 = off. */
  trainBits: z.number().int().min(1).max(32),
  localSteps: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  learningRate: z.number().positive(),
  /** Milliseconds from receipt until the aggregator closes the round. */
  deadlineMs: z.number().nonnegative(),
  seed: uint(),
  errorFeedback: z.boolean(),
  blockSize: z.number().int().positive(),
  /** 'async' (FedBuff): round is this task's own number, a committed version does not make it stale. Absent = 'sync'. */
  mode: z.enum(RUN_MODES).optional(),
  /** The model version the task trains from (sync: round - 1). */
  version: uint().optional(),
  /** Time-budgeted local work: train at most localSteps, and stop once the next step would pass this many milliseconds. */
  timeBudgetMs: z.number().nonnegative().optional(),
});

export const CancelSchema = z.object({ round: z.number().int().nonnegative(), reason: z.string() });

export const DeviceRoundRecordSchema = z.object({
  deviceId: z.string(),
  name: z.string(),
  bits: z.number(),
  trainBits: z.number(),
  reason: z.string(),
  status: z.enum(['accepted', 'missed', 'refused']),
  samples: z.number(),
  loss: z.number().nullable(),
  trainMs: z.number().nullable(),
  frameBytes: z.number(),
  uplinkBps: z.number(),
  computeJ: z.number(),
  transmitJ: z.number(),
  energyJ: z.number(),
  battery: z.number().nullable(),
  charging: z.boolean().nullable(),
});

export const RoundSummarySchema = z.object({
  round: z.number().int().positive(),
  policy: z.string(),
  startedAt: z.string(),
  wallS: z.number(),
  participants: z.number(),
  accepted: z.number(),
  loss: z.number().nullable(),
  computeJ: z.number(),
  transmitJ: z.number(),
  energyJ: z.number(),
  uplinkBytes: z.number(),
  /** What the same accepted updates would have sent at 32 bits. */
  uplinkBytesFp32: z.number(),
  downlinkBytes: z.number(),
  bits: z.record(z.string(), z.number()),
  fidMnist: z.number().optional(),
  classEntropyBits: z.number().optional(),
  devices: z.array(DeviceRoundRecordSchema),
  /** Absent = 'sync'. In async mode `round` is the model version this summary committed. */
  mode: z.enum(RUN_MODES).optional(),
  /** Why the round closed: every selected device answered, the deadline passed, the async buffer filled, or the run stopped. */
  closedBy: z.enum(['all-answered', 'deadline', 'buffer-full', 'stopped']).optional(),
  /** Async: the staleness (versions behind) of each merged update. */
  staleness: z.array(z.number()).optional(),
});

/** What every device hears when the run changes: enough to explain any wait in plain words. */
export const RunBriefSchema = z.object({
  phase: RunPhaseSchema,
  mode: z.enum(RUN_MODES),
  /** Committed model versions (in sync mode, rounds). */
  version: uint(),
  rounds: z.number().int().positive(),
  /** What the run waits for, in plain words, or null while it trains. */
  wait: z.string().nullable(),
  /** The open round (sync), or null. */
  round: z
    .object({ round: z.number().int().positive(), deadlineAt: z.number(), selected: uint(), received: uint(), quorum: uint() })
    .nullable(),
  /** How the last round ended, in plain words. */
  lastRound: z.object({ round: uint(), outcome: z.enum(['committed', 'dropped']), message: z.string() }).nullable(),
});

export type RunBrief = z.infer<typeof RunBriefSchema>;
export type ShardSpec = z.infer<typeof ShardSpecSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Task = z.infer<typeof TaskSchema>;
export type Cancel = z.infer<typeof CancelSchema>;
export type DeviceRoundRecord = z.infer<typeof DeviceRoundRecordSchema>;
export type RoundSummary = z.infer<typeof RoundSummarySchema>;
export type { RunPhase };

export const REFUSAL_CODES = [
  'bad-join-code',
  'not-joined',
  'schema',
  'unknown-event',
  'stale-round',
  'not-selected',
  'duplicate',
  'late',
  'wrong-length',
  'malformed-frame',
  'bad-checksum',
  'bad-value',
  'oversized',
  'rate-limited',
  'model-mismatch',
  'too-stale',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export const RefusalSchema = z.object({
  ok: z.literal(false),
  code: z.enum(REFUSAL_CODES),
  reason: z.string(),
  event: z.string().optional(),
  field: z.string().optional(),
  round: z.number().optional(),
});
export type Refusal = z.infer<typeof RefusalSchema>;

/** An acknowledgement: { ok: true, ...T } or a refusal. */
export function ackSchema<T extends z.ZodRawShape>(shape: z.ZodObject<T>) {
  return z.union([shape.extend({ ok: z.literal(true) }), RefusalSchema]);
}
export const OkAckSchema = ackSchema(z.object({}));

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type Ack<T extends object = {}> = ({ ok: true } & T) | Refusal;

/** Turns a zod error into one line a person can act on: which field, what was wrong, what was expected. */
export function describeZodError(error: z.ZodError): { field: string; reason: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', reason: 'invalid payload' };
  const field = issue.path.map(String).join('.') || '(payload)';
  return { field, reason: `${field}: ${issue.message}` };
}

/** A message from the aggregator that does not have the shape this device expects. */
export class ProtocolError extends Error {
  constructor(
    readonly event: string,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Checks what the aggregator sent against its schema. Throws ProtocolError naming the event, the
 * field, what was wrong and what to do (the usual cause is a device app older or newer than the
 * aggregator).
 */
export function parseServerMessage<T>(schema: z.ZodType<T>, event: string, payload: unknown): T {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const { field, reason } = describeZodError(result.error);
  throw new ProtocolError(event, field, `the aggregator sent a ${event} this device cannot read (${reason}); reload the page so the app matches the aggregator`);
}

/**
 * Checks an acknowledgement from the aggregator: a refusal when `ok` is false, else `{ok: true}`
 * plus the fields of `schema`. Parsing the branch the message claims makes the error name the
 * field that is wrong, not just "invalid input".
 */
export function parseAck<T extends z.ZodRawShape>(schema: z.ZodObject<T>, event: string, payload: unknown): ({ ok: true } & z.infer<z.ZodObject<T>>) | Refusal {
  if (payload && typeof payload === 'object' && (payload as { ok?: unknown }).ok === false) return parseServerMessage(RefusalSchema, event, payload);
  return parseServerMessage(schema.extend({ ok: z.literal(true) }), event, payload) as { ok: true } & z.infer<z.ZodObject<T>>;
}
