// The frozen base of a LoRA fine-tuning run (docs/LORA.md): which weights a name stands for, and
// the one 16-bit frame of them that every device fetches once per run (model-http.ts serves it at
// core's basePath). The aggregator computes with the same decoded 16-bit copy the devices hold, so
// the effective model it samples and exports is the one the devices' adapters were trained on.
//
// 'emoji-base' is the shipped pretrained base (public/models/emoji-base, docs/LORA.md "The
// pretrained base"): loaded and checked against its fingerprint by loadPretrainedBase. Adding
// another shipped base is its name in SHIPPED_BASES. Nothing else changes: delivery, checkpoints
// and the devices take any base's weights.
import { createHash } from 'node:crypto';
import { decodeUpdate, encodeUpdate, type LoraBrief } from '@fedbit/core';
import { createModel, type ModelConfig } from '@fedbit/diffusion';
import { loadPretrainedBase } from '@fedbit/diffusion/node';

/** The pretrained bases shipped under public/models/<name>/ (npm run pretrain writes them). */
const SHIPPED_BASES = ['emoji-base'] as const;

/** The base names a run config may give. */
export const KNOWN_BASES = ['random', ...SHIPPED_BASES] as const;

export interface ResolvedBase {
  name: string;
  /** The model config the base was built with (the run's own for 'random'). */
  config: ModelConfig;
  weights: Float32Array;
  /** The base's identity: SHA-256 of its float32 weights for 'random', the manifest's for a shipped base. */
  sha256: string;
}

export function sha256OfFloats(values: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
}

/**
 * The base a run's `lora.base` names. 'random': a model of the run's own config at its seeded
 * init (`seed`: the run seed), for tests and smoke runs; 'emoji-base': the shipped pretrained base
 * (its own config). Throws naming the known bases otherwise.
 */
export async function resolveBase(name: string, modelConfig: ModelConfig, seed: number): Promise<ResolvedBase> {
  switch (name) {
    case 'random': {
      const model = createModel(modelConfig, seed);
      const weights = model.getWeights();
      model.dispose();
      return { name, config: modelConfig, weights, sha256: sha256OfFloats(weights) };
    }
    case 'emoji-base': {
      // The manifest's config (32x32x3, class-conditional on the 9 emoji categories) replaces the run's.
      const { manifest, weights } = await loadPretrainedBase(name);
      return { name, config: manifest.config, weights, sha256: manifest.sha256 };
    }
    default:
      throw new Error(`lora.base: '${name}' is not a known base model; expected one of ${KNOWN_BASES.map((b) => `'${b}'`).join(', ')}`);
  }
}

/** The base as devices receive it: one IEEE-half frame, its SHA-256, and the weights it decodes to. */
export interface BaseResource {
  name: string;
  sha256: string;
  frame: Uint8Array;
  frameSha256: string;
  /** What the frame decodes to: the base every device holds (before its own baseBits rounding). */
  weights: Float32Array;
}

/** Encodes a base at 16 bits once (lossless half: no blocks; round 0 in the header: the base belongs to no round). */
export function baseResource(base: ResolvedBase): BaseResource {
  const frame = encodeUpdate(base.weights, { bits: 16, round: 0 });
  const frameSha256 = createHash('sha256').update(frame).digest('hex');
  const weights = decodeUpdate(frame, { length: base.weights.length, round: 0 });
  return { name: base.name, sha256: base.sha256, frame, frameSha256, weights };
}

export function baseRef(resource: BaseResource): LoraBrief['base'] {
  return { name: resource.name, sha256: resource.sha256, frameSha256: resource.frameSha256, bytes: resource.frame.byteLength, params: resource.weights.length };
}
