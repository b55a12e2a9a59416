// A run's LoRA settings (Hu et al., arXiv 2106.09685), validated with their defaults, and the
// adapters they put on a U-Net: which convolutions and dense layers, each layer's fan-in, fan-out,
// rank and scale. The vector those adapters make is core's LoraLayout, so a server can size and
// check uploads from the two configs without building a model (loraLayout).
import { buildLoraLayout, LORA_METHODS, type LoraAdapterShape, type LoraLayout, type LoraMethod } from '@fedbit/core';
import type { ModelConfig } from './config';
import type { WeightLayout } from './layout';
import { modelLayout } from './model';
import { macsPerTrainStep } from './net';

/** Layer kinds a target may name; anything else is a pattern over layer names. */
export const LORA_TARGET_KINDS = ['conv', 'dense'] as const;

export interface LoraConfig {
  /** Rank of every adapter; a layer narrower than that gets rank min(fanIn, fanOut). */
  rank: number;
  /** dW = (alpha / r) B A, r the layer's rank. Default: the rank (scale 1); Hu et al. set it once and leave it. */
  alpha?: number;
  /**
   * 'conv' (every convolution), 'dense' (every dense layer), or patterns over layer names where '*'
   * is any run of characters ('mid.*', 'up0.res1.conv2'). Default ['conv', 'dense'].
   */
  targets?: string[];
  /** Default 'ffa-lora': A frozen at the shared init, only B trained (exact merge); 'fedit' trains both. */
  method?: LoraMethod;
  /** Seed of the shared A: the same on every device of a run. */
  seed: number;
  /** Precision the frozen base is held at (quant.ts, per-tensor symmetric); default 8, 32 = as given. */
  baseBits?: number;
}

export type ResolvedLoraConfig = Required<LoraConfig>;

export function resolveLoraConfig(input: LoraConfig): ResolvedLoraConfig {
  const fail = (what: string): never => {
    throw new Error(`invalid LoRA config: ${what}`);
  };
  if (!input || typeof input !== 'object') fail('expected an object');
  const { rank, seed } = input;
  if (!Number.isInteger(rank) || rank < 1) fail(`rank must be an integer >= 1, got ${String(rank)}`);
  const alpha = input.alpha ?? rank;
  if (!(alpha > 0) || !Number.isFinite(alpha)) fail(`alpha must be a finite number > 0, got ${String(alpha)}`);
  const targets = input.targets ?? [...LORA_TARGET_KINDS];
  if (!Array.isArray(targets) || targets.length === 0) fail(`targets must be a non-empty array of 'conv', 'dense' or layer-name patterns`);
  for (const t of targets) if (typeof t !== 'string' || t.length === 0) fail(`every target must be a non-empty string, got ${JSON.stringify(t)}`);
  const method = input.method ?? 'ffa-lora';
  if (!LORA_METHODS.includes(method)) fail(`method must be one of ${LORA_METHODS.join(', ')}, got '${String(method)}'`);
  if (!Number.isInteger(seed)) fail(`seed must be an integer (the run's shared seed of A), got ${String(seed)}`);
  const baseBits = input.baseBits ?? 8;
  if (!Number.isInteger(baseBits) || baseBits < 1 || baseBits > 32) fail(`baseBits must be an integer in 1..32 (32 = full precision), got ${String(baseBits)}`);
  return { rank, alpha, targets: [...targets], method, seed, baseBits };
}

interface KernelLayer {
  layer: string;
  kind: (typeof LORA_TARGET_KINDS)[number];
  fanIn: number;
  fanOut: number;
}

/** Every kernel an adapter can sit on: conv kernels [kh, kw, cin, cout] as (kh*kw*cin) x cout, dense [in, out]. */
function kernelLayers(layout: WeightLayout): KernelLayer[] {
  const out: KernelLayer[] = [];
  for (const e of layout.entries) {
    if (!e.name.endsWith('.kernel')) continue;
    const layer = e.name.slice(0, -'.kernel'.length);
    if (e.shape.length === 4) out.push({ layer, kind: 'conv', fanIn: e.shape[0] * e.shape[1] * e.shape[2], fanOut: e.shape[3] });
    else if (e.shape.length === 2) out.push({ layer, kind: 'dense', fanIn: e.shape[0], fanOut: e.shape[1] });
  }
  return out;
}

function patternRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** The adapters `lora` puts on a model of this layout, in layout order. Throws for a target that matches no layer. */
export function loraAdapterShapes(layout: WeightLayout, lora: ResolvedLoraConfig): LoraAdapterShape[] {
  const layers = kernelLayers(layout);
  const chosen = new Set<string>();
  for (const target of lora.targets) {
    const isKind = (LORA_TARGET_KINDS as readonly string[]).includes(target);
    const re = isKind ? null : patternRegExp(target);
    const hits = layers.filter((l) => (re ? re.test(l.layer) : l.kind === target));
    if (hits.length === 0) {
      const names = layers.map((l) => l.layer);
      throw new Error(
        `LoRA target '${target}' matches no layer: expected 'conv', 'dense' or a pattern ('*' = any characters) over the layer names ${names.slice(0, 6).join(', ')}, ... (${names.length} in all)`,
      );
    }
    for (const h of hits) chosen.add(h.layer);
  }
  return layers
    .filter((l) => chosen.has(l.layer))
    .map((l) => {
      const rank = Math.min(lora.rank, l.fanIn, l.fanOut);
      return { name: l.layer, fanIn: l.fanIn, fanOut: l.fanOut, rank, scale: lora.alpha / rank };
    });
}

/** The adapter vector's layout for a model config and LoRA config, without building a model. */
export function loraLayout(model: ModelConfig, lora: LoraConfig): LoraLayout {
  const resolved = resolveLoraConfig(lora);
  return buildLoraLayout(loraAdapterShapes(modelLayout(model), resolved), resolved.method);
}

/**
 * Multiply-accumulates of one LoRA training step (the energy model's compute input for a LoRA
 * device). Assumption, stated because it decides the figure: the backward through the frozen base
 * still costs what full training's does. A step's cost is 3 forward passes (forward, input
 * gradient, weight gradient: the "6N FLOPs per token" of Kaplan et al., arXiv 2001.08361, section
 * 2.1). LoRA skips the weight gradient only when the adapter runs as a side branch x A^T B^T (Hu et
 * al., arXiv 2106.09685, section 4.2: the saving it reports is memory and optimizer state, and
 * about 25% of training throughput at GPT-3 scale); here the adapter is folded into the kernel (W +
 * s A^T B^T, so inference has no extra latency: lora.ts), so tfjs computes dL/dW' for every adapted
 * kernel and projects it onto B (and A). Counted therefore: full training's MACs plus forming each
 * adapted kernel's delta (rank x fanIn x fanOut) and its two gradient products, 3 x that per step,
 * independent of the batch. The adapter's own parameters are few; its compute is not the saving,
 * the uplink is.
 */
export function macsPerLoraTrainStep(model: ModelConfig, layout: LoraLayout, batchSize: number): number {
  let delta = 0;
  for (const a of layout.adapters) delta += a.rank * a.fanIn * a.fanOut;
  return macsPerTrainStep(model, batchSize) + 3 * delta;
}
