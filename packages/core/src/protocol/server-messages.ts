// What the aggregator sends (welcome, task, cancel, summary, brief, refusal) and the helpers a
// device uses to check it. Not .strict(): a newer aggregator may add fields an older device can
// ignore. docs/PROTOCOL.md describes each message; keep the two in step.
import { z } from 'zod';
import { DATASETS, LORA_METHODS, PARTITIONS, RUN_MODES, type RunPhase } from '../vocabulary';
import { BitsSchema, RunPhaseSchema } from './schemas';
import { SplitTaskSchema } from './split';
import { SecAggTaskSchema } from './secagg';

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
  /** Only images of these groups (the dataset's groupNames, by index: emoji vendors) are trained on and held out; absent = all. */
  groups: z.array(uint()).min(1).max(64).optional(),
}).refine((s) => s.index < s.count, { message: 'index must be below count', path: ['index'] });

/**
 * A LoRA fine-tuning run (docs/LORA.md): the device fetches the frozen base once per run at
 * basePath(base) (a 16-bit frame, checked against base.frameSha256), attaches adapters with these
 * settings (packages/diffusion's LoraConfig) and trains only them; every task's model is then the
 * global adapter vector of `trainableLength` values, and so is every update.
 */
export const LoraBriefSchema = z.object({
  base: z.object({
    /** The base's name ('random': the run's own model at its seeded init). */
    name: z.string().min(1).max(64),
    /** The base's identity: SHA-256 of its weights as the base ships (checkpoints record it). */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hexadecimal digits'),
    /** SHA-256 of the 16-bit frame served at basePath: the resource's name and what the device checks. */
    frameSha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hexadecimal digits'),
    /** The frame's size in bytes. */
    bytes: z.number().int().positive(),
    /** The base's parameter count (the full model's). */
    params: z.number().int().positive(),
  }),
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  targets: z.array(z.string().min(1).max(100)).min(1).max(64),
  method: z.enum(LORA_METHODS),
  /** Seed of the shared A (core's sharedA). */
  seed: uint(),
  /** Precision the device holds the frozen base at. */
  baseBits: z.number().int().min(1).max(32),
  /** Length of the adapter vector every task's model and every update holds. */
  trainableLength: z.number().int().positive(),
});

export const WelcomeSchema = z.object({
  deviceId: z.string().min(1).max(64),
  /** Given with a new identity only: the secret that proves this id on a later hello. The device keeps it; the aggregator keeps only its hash. */
  resumeToken: z.string().min(16).max(128).optional(),
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
  /** Present in a LoRA fine-tuning run: the base to fetch and the adapters to train. Absent = full training. */
  lora: LoraBriefSchema.optional(),
});

/**
 * The global model a task trains from. It is not in the task: the device fetches it once per
 * version over HTTP at modelPath(ref) (an immutable, cacheable resource), or reuses the copy it has,
 * and checks its SHA-256 before decoding it (packages/client/src/model-fetch.ts).
 */
export const ModelRefSchema = z.object({
  version: uint(),
  /** SHA-256 of the encoded model frame, lower-case hex: the resource's name and its ETag. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hexadecimal digits'),
  /** The frame's size in bytes. */
  bytes: z.number().int().positive(),
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
  /** The model to train from (version `version`), to fetch over HTTP. */
  model: ModelRefSchema,
  /** true in a LoRA run: `model` is the global adapter vector (welcome.lora), not the full model. Absent = full training. */
  lora: z.literal(true).optional(),
  /** Split learning (docs/SPLIT.md): train only the front of the U-Net up to this cut, the server the rest. Absent = the whole model. */
  split: SplitTaskSchema.optional(),
  /** Present in a securely aggregated round: the common grid; the device then takes the four secagg steps instead of device:update. */
  secureAggregation: SecAggTaskSchema.optional(),
}).refine((t) => t.version === undefined || t.version === t.model.version, { error: (issue) => `model.version must equal version (${String((issue.input as { version?: number }).version)})`, path: ['model', 'version'] });

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
  /** Receiving the global model; absent in records written before it was modelled. */
  receiveJ: z.number().optional(),
  energyJ: z.number(),
  battery: z.number().nullable(),
  charging: z.boolean().nullable(),
  /** Split runs: how this device trained this round (full model, or the front with the server), and why. Absent = full. */
  trainingMode: z.enum(['full', 'split']).optional(),
  modeReason: z.string().optional(),
  /** Split training: the share of its part's weights it kept (magnitude pruning). */
  keepRatio: z.number().optional(),
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
  receiveJ: z.number().optional(),
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
  /** The learning rate the round's tasks carried (the run's schedule). */
  learningRate: z.number().optional(),
  /** Differential privacy: epsilon spent by the run up to and including this round, at the run's delta. */
  epsilon: z.number().optional(),
  /** Sync rounds: seconds the aggregator spent planning the round (every picked device's demand, then the policy's solve), and the solve alone. */
  planS: z.number().nonnegative().optional(),
  solveS: z.number().nonnegative().optional(),
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
export type LoraBrief = z.infer<typeof LoraBriefSchema>;
export type ShardSpec = z.infer<typeof ShardSpecSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Task = z.infer<typeof TaskSchema>;
export type ModelRef = z.infer<typeof ModelRefSchema>;
export type Cancel = z.infer<typeof CancelSchema>;
export type DeviceRoundRecord = z.infer<typeof DeviceRoundRecordSchema>;
export type RoundSummary = z.infer<typeof RoundSummarySchema>;
export type { RunPhase };

/**
 * The summary one device hears: the round's totals with only its own record and its own bits.
 * The whole summary holds a record per device, so sending it to every device costs the square of
 * the room (340 KB to each of 1,000 devices a round, docs/SCALE.md); the whole one stays on /watch
 * and GET /api/rounds.
 */
export function deviceSummary(summary: RoundSummary, deviceId: string): RoundSummary {
  const bits = summary.bits[deviceId];
  return { ...summary, bits: bits === undefined ? {} : { [deviceId]: bits }, devices: summary.devices.filter((d) => d.deviceId === deviceId) };
}

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
  'already-joined',
  /** The aggregator failed on a message no check refused (its log has why); the device may go on. */
  'internal',
  /** Split learning: a step id, round or batch the server does not expect from this device now. */
  'unexpected-step',
  /** Split learning: a split event in a run or task that is not in split mode. */
  'not-split',
  /** Secure aggregation: a message for a step that is not the open one (or a plain update in a secure run). */
  'wrong-step',
  /** Secure aggregation: a device, or a share addressed to a device, that is not in the round's roster. */
  'not-in-round',
  /** A cluster of aggregator nodes has no leader right now (one is taking over): try again in a few seconds. */
  'unavailable',
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
