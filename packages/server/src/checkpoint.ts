// checkpoint.bin: the JSON state of the last completed round and the global weights in one file
// (a 16-byte header, the JSON, padding to 4 bytes, the float32 weights). A checkpoint on disk is
// input from outside like any other: decodeCheckpoint checks the header, the sizes, the state's
// schema and that every weight is finite before a run resumes from it, and says what was wrong.
import { RoundSummarySchema, describeZodError } from '@fedbit/core';
import { z } from 'zod';

const CHECKPOINT_MAGIC = 0x4b434246; // "FBCK"
const CHECKPOINT_VERSION = 1;

const count = () => z.number().int().nonnegative();
const finite = () => z.number().refine(Number.isFinite, 'must be a finite number');

const SavedDeviceSchema = z.object({
  name: z.string().max(64),
  /** SHA-256 (hex) of the device's resume token; absent in checkpoints written before tokens. */
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits').nullable().optional(),
  energyJ: finite(),
  updateNormSq: finite().nullable(),
  updateMaxAbs: finite().nullable().optional(),
  updateScaleSq: finite().nullable().optional(),
  shard: count(),
  /** Its place in the order of joining; absent in older checkpoints (the shard stands in). */
  seat: count().optional(),
  uplinkBps: finite().nullable(),
});

export const CheckpointStateSchema = z.object({
  runId: z.string().min(1).max(128),
  /** Completed rounds. */
  round: count(),
  layoutFingerprint: z.string().min(1),
  lossHistory: z.array(finite()),
  totals: z.object({ energyJ: finite(), computeJ: finite(), transmitJ: finite(), receiveJ: finite().default(0), uplinkBytes: finite(), downlinkBytes: finite() }),
  /** Per-device memory the policy, the energy totals and identities need across rounds. */
  devices: z.record(z.string().regex(/^[A-Za-z0-9_-]{6,64}$/), SavedDeviceSchema),
  /** The next seat to hand out (the name is older than seats: it counted shards handed out). */
  nextShard: count(),
  lastSummary: RoundSummarySchema.nullable(),
  /**
   * The sampling EMA (config emaDecay > 0): its decay and the versions folded in. When present the
   * file's weights are the global model followed by the EMA, the same length each.
   */
  ema: z.object({ decay: z.number().min(0).lt(1), updates: z.number().int().positive() }).optional(),
  /**
   * A LoRA run: the weights are the adapter vector, trained on this base (its name and identity);
   * resume checks both against the run's. Absent for full training.
   */
  lora: z.object({ base: z.string().min(1).max(64), baseSha256: z.string().regex(/^[0-9a-f]{64}$/), method: z.string().min(1).max(32), trainableLength: count() }).optional(),
  /** Differential privacy spent so far (RDP per order); absent when the run has none. */
  rdp: z.array(z.number().nonnegative()).optional(),
  savedAt: z.string(),
});

export type CheckpointState = z.infer<typeof CheckpointStateSchema>;

export interface Checkpoint {
  state: CheckpointState;
  weights: Float32Array;
  /** The sampling EMA's weights, when state.ema is present. */
  ema?: Float32Array;
}

export function encodeCheckpoint(state: CheckpointState, weights: Float32Array): Uint8Array[] {
  const json = new TextEncoder().encode(JSON.stringify(state));
  const header = new DataView(new ArrayBuffer(16));
  header.setUint32(0, CHECKPOINT_MAGIC, true);
  header.setUint32(4, CHECKPOINT_VERSION, true);
  header.setUint32(8, json.byteLength, true);
  header.setUint32(12, weights.length, true);
  // Weights start on a 4-byte boundary so they can be viewed as a Float32Array without copying.
  const pad = new Uint8Array((4 - ((16 + json.byteLength) % 4)) % 4);
  return [new Uint8Array(header.buffer), json, pad, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength)];
}

/** Reads and checks a checkpoint; throws an Error naming the file, what was wrong and what was expected. */
export function decodeCheckpoint(bytes: Uint8Array, path = 'checkpoint', expectedWeights?: number): Checkpoint {
  if (bytes.byteLength < 16) throw new Error(`${path}: truncated (${bytes.byteLength} bytes, expected at least 16)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== CHECKPOINT_MAGIC) throw new Error(`${path}: not a fedbit checkpoint (bad magic)`);
  const version = view.getUint32(4, true);
  if (version !== CHECKPOINT_VERSION) throw new Error(`${path}: version ${version}, expected ${CHECKPOINT_VERSION}`);
  const jsonBytes = view.getUint32(8, true);
  const length = view.getUint32(12, true);
  const start = 16 + jsonBytes + ((4 - ((16 + jsonBytes) % 4)) % 4);
  if (bytes.byteLength !== start + length * 4) {
    throw new Error(`${path}: ${bytes.byteLength} bytes, expected ${start + length * 4} for ${length} weights`);
  }
  if (expectedWeights !== undefined && length !== expectedWeights) {
    throw new Error(`${path}: holds ${length} weights, this run's model has ${expectedWeights}`);
  }
  // (with an EMA, `length` counts both halves; expectedWeights callers pass the doubled count)
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + jsonBytes)));
  } catch (error) {
    throw new Error(`${path}: its state is not valid JSON (${(error as Error).message})`);
  }
  const parsed = CheckpointStateSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: state ${describeZodError(parsed.error).reason}`);
  const weights = new Float32Array(length);
  weights.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length * 4)));
  const bad = weights.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new Error(`${path}: weight ${bad} is ${weights[bad]}; a checkpoint holds finite weights only`);
  if (parsed.data.ema) {
    if (length % 2 !== 0) throw new Error(`${path}: state has an EMA but ${length} weights is odd; expected the model followed by its EMA, the same length each`);
    return { state: parsed.data, weights: weights.slice(0, length / 2), ema: weights.slice(length / 2) };
  }
  return { state: parsed.data, weights };
}
