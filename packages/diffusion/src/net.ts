// The denoiser: a small U-Net in the style of DDPM (Ho et al., arXiv 2006.11239, appendix B):
// residual blocks with GroupNorm and SiLU, the time embedding added inside every block, strided
// convolutions down, nearest upsampling + convolution up, skip connections concatenated on the
// way up; no attention (the models are small and attention's cost grows with resolution).
// Optional class conditioning adds a learned label embedding to the time embedding, with an extra
// "no label" class for classifier-free guidance (Ho & Salimans, arXiv 2207.12598).
//
// The architecture is written once against NetOps and interpreted twice: by ShapeOps, which only
// tracks shapes (giving the weight layout, initialisers and exact MAC counts), and by the tfjs
// interpreter in model.ts, which computes.
import type { ModelConfig } from './config';
import { samePadding } from './conv';

export type Init = 'fanIn' | 'zero' | 'one' | 'normal';

export interface NetOps<T> {
  shape(x: T): number[];
  conv(name: string, x: T, outChannels: number, kernel: 1 | 3, stride: 1 | 2, init?: Init): T;
  dense(name: string, x: T, out: number): T;
  /** One-hot [n, classes] times a table [classes, out] (a lookup that every backend can differentiate). */
  embed(name: string, oneHot: T, out: number): T;
  groupNorm(name: string, x: T, groups: number): T;
  silu(x: T): T;
  /** silu(groupNorm(x)): one op so that a backend can fuse it (every norm of the net is followed by SiLU). */
  groupNormSilu(name: string, x: T, groups: number): T;
  add(a: T, b: T): T;
  /** x [n,h,w,c] + v [n,c] broadcast over space. */
  addChannels(x: T, v: T): T;
  concat(a: T, b: T): T;
  upsample(x: T, height: number, width: number): T;
}

function resBlock<T>(ops: NetOps<T>, cfg: ModelConfig, name: string, x: T, emb: T, outCh: number): T {
  const inCh = ops.shape(x)[3];
  let h = ops.conv(`${name}.conv1`, ops.groupNormSilu(`${name}.norm1`, x, cfg.groups), outCh, 3, 1);
  h = ops.addChannels(h, ops.dense(`${name}.emb`, emb, outCh));
  // zero-initialised last conv: each block starts as the identity (DDPM's init)
  h = ops.conv(`${name}.conv2`, ops.groupNormSilu(`${name}.norm2`, h, cfg.groups), outCh, 3, 1, 'zero');
  const skip = inCh === outCh ? x : ops.conv(`${name}.skip`, x, outCh, 1, 1);
  return ops.add(skip, h);
}

/** The down path as stages (input conv, each residual block, each strided conv): every stage's output is a skip. */
function downStages<T>(ops: NetOps<T>, cfg: ModelConfig, x: T): ((h: T, emb: T) => T)[] {
  const stages: ((h: T, emb: T) => T)[] = [() => ops.conv('in.conv', x, cfg.baseChannels, 3, 1)];
  const levels = cfg.channelMults.length;
  for (let i = 0; i < levels; i++) {
    const ch = cfg.baseChannels * cfg.channelMults[i];
    for (let r = 0; r < cfg.resBlocks; r++) stages.push((h, emb) => resBlock(ops, cfg, `down${i}.res${r}`, h, emb, ch));
    if (i < levels - 1) stages.push((h) => ops.conv(`down${i}.down`, h, ops.shape(h)[3], 3, 2));
  }
  return stages;
}

/** How many stages the down path has: a split cut is 1..this many (the device keeps the first `cut`). */
export function downStageCount(cfg: ModelConfig): number {
  const levels = cfg.channelMults.length;
  return 1 + levels * cfg.resBlocks + (levels - 1);
}

/** What crosses a split cut: the embedding every block reads, and the down path's outputs so far (the last is also where the server goes on from). */
export interface FrontOutputs<T> {
  emb: T;
  skips: T[];
}

/**
 * The front of the U-Net up to the cut: the time (and label) embedding and the first `cut` down
 * stages. The device of split learning runs this (./split.ts).
 */
export function unetFront<T>(ops: NetOps<T>, cfg: ModelConfig, x: T, timeFeatures: T, labels: T | null, cut = downStageCount(cfg)): FrontOutputs<T> {
  const stages = downStages(ops, cfg, x);
  if (!Number.isInteger(cut) || cut < 1 || cut > stages.length) throw new Error(`cut must be an integer in 1..${stages.length} (the down path's stages), got ${cut}`);
  let emb = ops.dense('time.dense1', timeFeatures, cfg.embedDim);
  emb = ops.dense('time.dense2', ops.silu(emb), cfg.embedDim);
  if (cfg.numClasses > 0 && labels !== null) emb = ops.add(emb, ops.embed('label.embed', labels, cfg.embedDim));
  emb = ops.silu(emb);
  const skips: T[] = [];
  let h = x;
  for (let s = 0; s < cut; s++) {
    h = stages[s](h, emb);
    skips.push(h);
  }
  return { emb, skips };
}

/**
 * The rest of the U-Net after the cut: the remaining down stages, the middle and the way up, from
 * what the front gave. `skips` must hold exactly `cut` tensors. The server of split learning runs this.
 */
export function unetBack<T>(ops: NetOps<T>, cfg: ModelConfig, front: FrontOutputs<T>, cut = downStageCount(cfg)): T {
  const { emb } = front;
  if (front.skips.length !== cut) throw new Error(`the back of the U-Net after cut ${cut} needs ${cut} skip tensors, got ${front.skips.length}`);
  const skips = [...front.skips];
  // the input conv's stage ignores its input; the server never runs it (cut >= 1)
  const stages = downStages(ops, cfg, null as unknown as T);
  let h = skips[skips.length - 1];
  for (let s = cut; s < stages.length; s++) {
    h = stages[s](h, emb);
    skips.push(h);
  }
  const levels = cfg.channelMults.length;
  const midCh = ops.shape(h)[3];
  for (let m = 0; m < cfg.midBlocks; m++) h = resBlock(ops, cfg, `mid.res${m}`, h, emb, midCh);
  for (let i = levels - 1; i >= 0; i--) {
    const ch = cfg.baseChannels * cfg.channelMults[i];
    for (let r = 0; r <= cfg.resBlocks; r++) {
      const skip = skips.pop() as T;
      h = resBlock(ops, cfg, `up${i}.res${r}`, ops.concat(h, skip), emb, ch);
    }
    if (i > 0) {
      const target = ops.shape(skips[skips.length - 1]);
      h = ops.conv(`up${i}.up`, ops.upsample(h, target[1], target[2]), ch, 3, 1);
    }
  }
  h = ops.groupNormSilu('out.norm', h, cfg.groups);
  return ops.conv('out.conv', h, cfg.channels, 3, 1, 'zero');
}

/**
 * x: noisy images [n,H,W,C]; timeFeatures: sinusoidal features [n, embedDim];
 * labels: one-hot [n, numClasses + 1] or null for an unconditional model. Returns predicted noise.
 * The front and the back of any cut composed are this same computation, in the same parameter order.
 */
export function unet<T>(ops: NetOps<T>, cfg: ModelConfig, x: T, timeFeatures: T, labels: T | null): T {
  return unetBack(ops, cfg, unetFront(ops, cfg, x, timeFeatures, labels));
}

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  fanIn: number;
}

/** Shape-only interpreter: records parameters in call order and counts multiply-accumulates. */
export class ShapeOps implements NetOps<number[]> {
  readonly params: ParamSpec[] = [];
  macs = 0;
  private readonly known = new Set<string>();

  constructor(private readonly numClasses: number) {}

  private param(name: string, shape: number[], init: Init, fanIn = 1): void {
    if (this.known.has(name)) throw new Error(`parameter ${name} declared twice`);
    this.known.add(name);
    this.params.push({ name, shape, init, fanIn });
  }
  shape(x: number[]): number[] {
    return x;
  }
  conv(name: string, x: number[], outChannels: number, kernel: 1 | 3, stride: 1 | 2, init: Init = 'fanIn'): number[] {
    const [n, h, w, c] = x;
    this.param(`${name}.kernel`, [kernel, kernel, c, outChannels], init, kernel * kernel * c);
    this.param(`${name}.bias`, [outChannels], 'zero');
    const ho = samePadding(h, kernel, stride).out;
    const wo = samePadding(w, kernel, stride).out;
    this.macs += n * ho * wo * kernel * kernel * c * outChannels;
    return [n, ho, wo, outChannels];
  }
  dense(name: string, x: number[], out: number): number[] {
    const [n, d] = x;
    this.param(`${name}.kernel`, [d, out], 'fanIn', d);
    this.param(`${name}.bias`, [out], 'zero');
    this.macs += n * d * out;
    return [n, out];
  }
  embed(name: string, oneHot: number[], out: number): number[] {
    const [n, classes] = oneHot;
    if (classes !== this.numClasses + 1) throw new Error(`label one-hot has ${classes} columns, expected ${this.numClasses + 1}`);
    this.param(`${name}.table`, [classes, out], 'normal');
    this.macs += n * classes * out;
    return [n, out];
  }
  groupNorm(name: string, x: number[], groups: number): number[] {
    if (x[3] % groups !== 0) throw new Error(`${name}: ${groups} groups do not divide ${x[3]} channels`);
    this.param(`${name}.gamma`, [x[3]], 'one');
    this.param(`${name}.beta`, [x[3]], 'zero');
    return x;
  }
  silu(x: number[]): number[] {
    return x;
  }
  groupNormSilu(name: string, x: number[], groups: number): number[] {
    return this.groupNorm(name, x, groups);
  }
  add(a: number[]): number[] {
    return a;
  }
  addChannels(x: number[]): number[] {
    return x;
  }
  concat(a: number[], b: number[]): number[] {
    if (a[1] !== b[1] || a[2] !== b[2]) throw new Error(`cannot concatenate ${a.join('x')} and ${b.join('x')}`);
    return [a[0], a[1], a[2], a[3] + b[3]];
  }
  upsample(x: number[], height: number, width: number): number[] {
    return [x[0], height, width, x[3]];
  }
}

export function traceNet(cfg: ModelConfig, batch: number): ShapeOps {
  const ops = new ShapeOps(cfg.numClasses);
  const labels = cfg.numClasses > 0 ? [batch, cfg.numClasses + 1] : null;
  unet(ops, cfg, [batch, cfg.imageSize, cfg.imageSize, cfg.channels], [batch, cfg.embedDim], labels);
  return ops;
}

/** Multiply-accumulates of one forward pass over `batch` images (convolutions and dense layers; norms and activations are not counted). */
export function macsPerForward(cfg: ModelConfig, batch: number): number {
  return traceNet(cfg, batch).macs;
}

/**
 * Multiply-accumulates of one training step: the forward pass plus the backward pass, which for
 * every convolution and dense layer costs two forward-sized products (input and weight gradients).
 */
export function macsPerTrainStep(cfg: ModelConfig, batchSize: number): number {
  return 3 * macsPerForward(cfg, batchSize);
}
