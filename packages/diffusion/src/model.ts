// The diffusion model: the U-Net's weights as tfjs variables in the fixed layout order, a
// deterministic seeded initialisation, and the noise prediction eps_theta(x_t, t, label).
import * as tf from '@tensorflow/tfjs-core';
import { validateModelConfig, type ModelConfig } from './config';
import { conv2dTrainable, upsample2x } from './conv';
import { addBias, addChannels } from './bias';
import { GROUP_NORM_EPS, groupNorm, groupNormSilu, silu, type NormConstants } from './norm';
import { buildLayout, type WeightLayout } from './layout';
import { traceNet, unet, type NetOps, type ParamSpec } from './net';
import { fakeQuant } from './quant';
import { normal } from './rng';

export interface ForwardOptions {
  /** Fake-quantize weights at this precision (32 = off). */
  trainBits?: number;
  /** Also fake-quantize the input of every convolution at trainBits. */
  quantizeActivations?: boolean;
  /**
   * The tensor the forward uses for layout entry `index` instead of the model's variable (LoRA: the
   * frozen base plus the adapter's delta, ./lora.ts). Called inside the forward's tf.tidy; trainBits
   * then applies to what it returns.
   */
  weightOf?: (index: number) => tf.Tensor;
}

export interface DiffusionModel {
  readonly config: ModelConfig;
  /** Tensors the model holds besides its variables (constants of its forward and backward passes). */
  readonly constantCount: number;
  readonly layout: WeightLayout;
  readonly paramCount: number;
  /** The trainable variables in layout order. */
  readonly variables: readonly tf.Variable[];
  getWeights(): Float32Array;
  /** The same as getWeights, read back asynchronously: use this on WebGPU, which has no synchronous read. */
  readWeights(): Promise<Float32Array>;
  setWeights(weights: Float32Array): void;
  /**
   * Predicted noise for x_t [n,H,W,C] in [-1,1] at timesteps t (one per image). labels: one per
   * image, numClasses (or -1) meaning "no label"; ignored by an unconditional model. The caller
   * owns (and disposes) the result.
   */
  predictNoise(x: tf.Tensor4D, t: ArrayLike<number> | tf.Tensor1D, labels?: ArrayLike<number>, options?: ForwardOptions): tf.Tensor4D;
  dispose(): void;
}

/** Sinusoidal timestep features (Vaswani et al.; DDPM's time embedding): [sin(t f_i), cos(t f_i)]. */
export function timeFeatures(t: ArrayLike<number>, dim: number): Float32Array {
  const half = dim / 2;
  const out = new Float32Array(t.length * dim);
  for (let n = 0; n < t.length; n++) {
    for (let i = 0; i < half; i++) {
      const freq = Math.exp((-Math.log(10000) * i) / Math.max(half - 1, 1));
      out[n * dim + i] = Math.sin(t[n] * freq);
      out[n * dim + half + i] = Math.cos(t[n] * freq);
    }
  }
  return out;
}

/** One-hot rows [n, numClasses + 1]; out-of-range labels (e.g. -1) select the "no label" class. */
export function labelOneHot(labels: ArrayLike<number> | undefined, n: number, numClasses: number): Float32Array {
  const out = new Float32Array(n * (numClasses + 1));
  for (let i = 0; i < n; i++) {
    const l = labels ? labels[i] : numClasses;
    const k = Number.isInteger(l) && l >= 0 && l < numClasses ? l : numClasses;
    out[i * (numClasses + 1) + k] = 1;
  }
  return out;
}

function initValues(spec: ParamSpec, size: number, gen: () => number): Float32Array {
  const v = new Float32Array(size);
  switch (spec.init) {
    case 'zero':
      break;
    case 'one':
      v.fill(1);
      break;
    case 'normal':
      for (let i = 0; i < size; i++) v[i] = gen();
      break;
    case 'fanIn': {
      const std = Math.sqrt(1 / spec.fanIn);
      for (let i = 0; i < size; i++) v[i] = gen() * std;
      break;
    }
    default: {
      const never: never = spec.init;
      throw new Error(`unknown initialiser ${String(never)}`);
    }
  }
  return v;
}

/** Scalars of the forward and backward passes, made once per model, not per call: on WebGPU each new one is an upload. */
export interface ModelConstants extends NormConstants {
  /** The 2x2 block sum of upsampling's gradient. */
  four: tf.Scalar;
}

export class TfOps implements NetOps<tf.Tensor> {
  constructor(
    private readonly weights: Map<string, tf.Tensor>,
    private readonly actBits: number,
    private readonly constants: ModelConstants,
  ) {}
  private p(name: string): tf.Tensor {
    const w = this.weights.get(name);
    if (!w) throw new Error(`missing parameter ${name}`);
    return w;
  }
  shape(x: tf.Tensor): number[] {
    return x.shape;
  }
  conv(name: string, x: tf.Tensor, _out: number, _k: number, stride: 1 | 2): tf.Tensor {
    const input = this.actBits < 32 ? fakeQuant(x, this.actBits) : x;
    const y = conv2dTrainable(input as tf.Tensor4D, this.p(`${name}.kernel`) as tf.Tensor4D, stride);
    return addBias(y, this.p(`${name}.bias`));
  }
  dense(name: string, x: tf.Tensor): tf.Tensor {
    return addBias(tf.matMul(x as tf.Tensor2D, this.p(`${name}.kernel`) as tf.Tensor2D), this.p(`${name}.bias`));
  }
  embed(name: string, oneHot: tf.Tensor): tf.Tensor {
    return tf.matMul(oneHot as tf.Tensor2D, this.p(`${name}.table`) as tf.Tensor2D);
  }
  groupNorm(name: string, x: tf.Tensor, groups: number): tf.Tensor {
    return groupNorm(x as tf.Tensor4D, this.p(`${name}.gamma`), this.p(`${name}.beta`), groups, this.constants);
  }
  silu(x: tf.Tensor): tf.Tensor {
    return silu(x, this.constants);
  }
  groupNormSilu(name: string, x: tf.Tensor, groups: number): tf.Tensor {
    return groupNormSilu(x as tf.Tensor4D, this.p(`${name}.gamma`), this.p(`${name}.beta`), groups, this.constants);
  }
  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  addChannels(x: tf.Tensor, v: tf.Tensor): tf.Tensor {
    return addChannels(x, v);
  }
  concat(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.concat([a, b], 3);
  }
  upsample(x: tf.Tensor, height: number, width: number): tf.Tensor {
    return upsample2x(x as tf.Tensor4D, height, width, this.constants.four);
  }
}

/** The layout of a config without building a model (the server uses it to validate uploads). */
export function modelLayout(config: ModelConfig): WeightLayout {
  return buildLayout(traceNet(config, 1).params);
}

export function createModel(configIn: ModelConfig, seed: number): DiffusionModel {
  const config = validateModelConfig(configIn);
  const specs = traceNet(config, 1).params;
  const layout = buildLayout(specs);
  const gen = normal(seed);
  const variables = layout.entries.map((e, i) => tf.tidy(() => tf.variable(tf.tensor(initValues(specs[i], e.size, gen), e.shape), true)));
  let disposed = false;
  // Made with the variables and disposed with them (like them, used from any backend).
  const constants: ModelConstants = { eps: tf.scalar(GROUP_NORM_EPS), one: tf.scalar(1), four: tf.scalar(4) };
  const alive = () => {
    if (disposed) throw new Error('this DiffusionModel was disposed');
  };

  const model: DiffusionModel = {
    config,
    constantCount: Object.keys(constants).length,
    layout,
    paramCount: layout.total,
    variables,
    getWeights() {
      alive();
      const out = new Float32Array(layout.total);
      layout.entries.forEach((e, i) => out.set(variables[i].dataSync() as Float32Array, e.offset));
      return out;
    },
    async readWeights() {
      alive();
      const out = new Float32Array(layout.total);
      const values = await Promise.all(variables.map((v) => v.data()));
      layout.entries.forEach((e, i) => out.set(values[i] as Float32Array, e.offset));
      return out;
    },
    setWeights(weights: Float32Array) {
      alive();
      if (!(weights instanceof Float32Array) || weights.length !== layout.total) {
        throw new Error(`setWeights expects a Float32Array of ${layout.total} values (this model's layout), got ${weights?.length ?? 'none'}`);
      }
      layout.entries.forEach((e, i) => {
        tf.tidy(() => variables[i].assign(tf.tensor(weights.subarray(e.offset, e.offset + e.size), e.shape)));
      });
    },
    predictNoise(x, t, labels, options = {}) {
      alive();
      const bits = options.trainBits ?? 32;
      return tf.tidy(() => {
        const n = x.shape[0];
        if (x.shape[1] !== config.imageSize || x.shape[2] !== config.imageSize || x.shape[3] !== config.channels) {
          throw new Error(`predictNoise expects [n,${config.imageSize},${config.imageSize},${config.channels}], got [${x.shape.join(',')}]`);
        }
        const tv = t instanceof tf.Tensor ? t.dataSync() : t;
        if (tv.length !== n) throw new Error(`predictNoise needs one timestep per image: ${n} images, ${tv.length} timesteps`);
        const feats = tf.tensor2d(timeFeatures(tv, config.embedDim), [n, config.embedDim]);
        const oneHot = config.numClasses > 0 ? tf.tensor2d(labelOneHot(labels, n, config.numClasses), [n, config.numClasses + 1]) : null;
        const weights = new Map<string, tf.Tensor>();
        layout.entries.forEach((e, i) => {
          const w = options.weightOf ? options.weightOf(i) : variables[i];
          weights.set(e.name, bits < 32 ? fakeQuant(w, bits) : w);
        });
        const ops = new TfOps(weights, options.quantizeActivations ? bits : 32, constants);
        return unet(ops, config, x, feats, oneHot) as tf.Tensor4D;
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const v of variables) v.dispose();
      tf.dispose([constants.eps, constants.one, constants.four]);
    },
  };
  return model;
}
