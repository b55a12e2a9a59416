// The pretrained base model's file format ('fedbit-base/1'): a manifest (JSON: the model config,
// how the weights were made, the figures measured) and the weights as float16 little-endian in
// the model's layout order (./layout.ts), fingerprinted by the SHA-256 of those bytes.
// Platform-neutral (browser and Node): the bytes come from fetch() or a file; ./pretrained-node.ts
// reads them from disk. The base is what LoRA (Hu et al., arXiv 2106.09685) fine-tunes.
import { float32ToHalfBits, halfBitsToFloat32, sha256Hex } from '@fedbit/core';
import { validateModelConfig, type ModelConfig } from './config';
import { modelLayout } from './model';

export const BASE_FORMAT = 'fedbit-base/1';
export const BASE_MANIFEST_FILE = 'manifest.json';
export const BASE_WEIGHTS_FILE = 'weights.f16.bin';

export interface BaseManifest {
  name: string;
  format: 'fedbit-base/1';
  config: ModelConfig;
  dtype: 'float16';
  params: number;
  /** SHA-256 (hex) of the weights file bytes. */
  sha256: string;
  /** Whether the weights are the exponential moving average of the training weights. */
  ema: boolean;
  training: { command: string; seed: number; steps: number; batch: number; data: string; vendors: string[]; gitCommit: string; date: string };
  figures: Record<string, number>;
}

export interface PretrainedBase {
  manifest: BaseManifest;
  weights: Float32Array;
}

/** The weights as float16, little-endian, 2 bytes a value (round to nearest even; beyond +-65504 saturates). */
export function encodeBaseWeights(weights: Float32Array): Uint8Array {
  const out = new Uint8Array(weights.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (!Number.isFinite(w)) throw new Error(`encodeBaseWeights: weight ${i} is ${w}; a base must hold finite values only`);
    view.setUint16(i * 2, float32ToHalfBits(w), true);
  }
  return out;
}

/** SHA-256 hex of the bytes (the manifest's fingerprint). */
export function baseFingerprint(weightBytes: Uint8Array): string {
  return sha256Hex(weightBytes);
}

function fail(what: string): never {
  throw new Error(`invalid pretrained base: ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a manifest from outside (a fetched JSON, a file) and returns it typed. */
export function validateBaseManifest(value: unknown): BaseManifest {
  if (!isObject(value)) fail('the manifest must be a JSON object');
  const m = value;
  const str = (v: unknown, what: string, pattern?: RegExp, expected?: string): string => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 10_000) fail(`${what} must be a non-empty string, got ${JSON.stringify(v)}`);
    if (pattern && !pattern.test(v)) fail(`${what} must be ${expected}, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (v: unknown, what: string, min: number): number => {
    if (!Number.isSafeInteger(v) || (v as number) < min) fail(`${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const name = str(m.name, 'name', /^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, ".", "_" or "-" (1 to 64 long)');
  if (m.format !== BASE_FORMAT) fail(`format must be "${BASE_FORMAT}", got ${JSON.stringify(m.format)}`);
  if (m.dtype !== 'float16') fail(`dtype must be "float16", got ${JSON.stringify(m.dtype)}`);
  let config: ModelConfig;
  try {
    config = validateModelConfig(m.config);
  } catch (error) {
    fail(`config: ${(error as Error).message}`);
  }
  const params = int(m.params, 'params', 1);
  let expected: number;
  try {
    expected = modelLayout(config).total;
  } catch (error) {
    fail(`config: cannot build the model (${(error as Error).message})`);
  }
  if (params !== expected) fail(`params is ${params}, but the config's model has ${expected} parameters`);
  const sha256 = str(m.sha256, 'sha256', /^[0-9a-f]{64}$/, '64 lowercase hex digits');
  if (typeof m.ema !== 'boolean') fail(`ema must be true or false, got ${JSON.stringify(m.ema)}`);
  if (!isObject(m.training)) fail('training must be an object');
  const t = m.training;
  if (!Array.isArray(t.vendors) || t.vendors.some((v) => typeof v !== 'string')) fail('training.vendors must be an array of strings');
  const training: BaseManifest['training'] = {
    command: str(t.command, 'training.command'),
    seed: int(t.seed, 'training.seed', 0),
    steps: int(t.steps, 'training.steps', 0),
    batch: int(t.batch, 'training.batch', 1),
    data: str(t.data, 'training.data'),
    vendors: [...(t.vendors as string[])],
    gitCommit: str(t.gitCommit, 'training.gitCommit'),
    date: str(t.date, 'training.date'),
  };
  if (!isObject(m.figures)) fail('figures must be an object of numbers');
  const figures: Record<string, number> = {};
  for (const [k, v] of Object.entries(m.figures)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`figures.${k} must be a finite number, got ${JSON.stringify(v)}`);
    figures[k] = v;
  }
  return { name, format: BASE_FORMAT, config, dtype: 'float16', params, sha256, ema: m.ema, training, figures };
}

/** Checks the manifest, the byte length, the fingerprint and every value, then decodes the weights. */
export async function decodeBase(manifestJson: unknown, weightBytes: Uint8Array): Promise<PretrainedBase> {
  const manifest = validateBaseManifest(manifestJson);
  if (!(weightBytes instanceof Uint8Array)) fail('the weights must be bytes (a Uint8Array)');
  const want = manifest.params * 2;
  if (weightBytes.length !== want) {
    fail(`the weights file has ${weightBytes.length} bytes; ${manifest.params} float16 parameters need ${want}${weightBytes.length < want ? ' (truncated?)' : ''}`);
  }
  const actual = baseFingerprint(weightBytes);
  if (actual !== manifest.sha256) fail(`the weights' SHA-256 is ${actual}, the manifest expects ${manifest.sha256} (the file is corrupt or belongs to another base)`);
  const view = new DataView(weightBytes.buffer, weightBytes.byteOffset, weightBytes.byteLength);
  const weights = new Float32Array(manifest.params);
  for (let i = 0; i < weights.length; i++) {
    const h = view.getUint16(i * 2, true);
    if ((h & 0x7c00) === 0x7c00) fail(`weight ${i} is ${halfBitsToFloat32(h)}; expected finite values only`);
    weights[i] = halfBitsToFloat32(h);
  }
  return { manifest, weights };
}
