// LoRA adapters on a DiffusionModel (Hu et al., arXiv 2106.09685): the forward uses
//   W + (alpha / r) * reshape(A^T B^T)      on every targeted kernel
// (core's lora/layout.ts gives the shapes and why the transpose), with A [r, fanIn] from the run's
// shared seed and B [fanOut, r] zero, so an adapted model starts as its base. A convolution's
// kernel [kh, kw, cin, cout] is adapted as the (kh*kw*cin) x cout matrix of im2col: A is a kh x kw
// convolution from cin to r channels and B a 1x1 convolution from r to cout (LyCORIS's LoCon, Yeh
// et al., arXiv 2309.14859), so the adapter sees the same receptive field as the kernel.
//
// The base is frozen: attachLora copies it once, held at baseBits (per-tensor symmetric fake
// quantization, quant.ts; values on an 8-bit grid stored as float32), and the forward reads that
// copy, never the base's variables. `variables` lists only what trains: B (FFA-LoRA) or A and B
// (FedIT), so createTrainer(loraModel, ...) updates the adapters and nothing else.
import { buildLoraLayout, sharedA, type LoraLayout } from '@fedbit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { loraAdapterShapes, resolveLoraConfig, type LoraConfig, type ResolvedLoraConfig } from './lora-config';
import type { DiffusionModel, ForwardOptions } from './model';
import { quantizeValue } from './quant';

export interface LoraModel {
  readonly base: DiffusionModel;
  /** The base's model config. */
  readonly config: ModelConfig;
  readonly lora: ResolvedLoraConfig;
  readonly layout: LoraLayout;
  /** Trainable adapter parameters: the length of the vector a device uploads. */
  readonly paramCount: number;
  /** The trainable adapter variables in the vector's order: B (FFA-LoRA), or every A then every B (FedIT). */
  readonly variables: readonly tf.Variable[];
  /** Tensors it holds: A and B of every adapter, the frozen copy of the base, its scale constants. */
  readonly tensorCount: number;
  /** The trainable adapter vector (layout.trainableLength values). */
  getAdapters(): Float32Array;
  /** The same, read back asynchronously (WebGPU has no synchronous read). */
  readAdapters(): Promise<Float32Array>;
  setAdapters(vector: Float32Array): void;
  /** The base with the adapters merged in, W + dW, in the base's weight layout (for sampling and export). */
  effectiveWeights(): Float32Array;
  /** The base's noise prediction with the adapted weights; options as DiffusionModel.predictNoise. */
  predictNoise(x: tf.Tensor4D, t: ArrayLike<number> | tf.Tensor1D, labels?: ArrayLike<number>, options?: ForwardOptions): tf.Tensor4D;
  /** Disposes the adapters and the frozen copy; the base model is left alone. */
  dispose(): void;
}

interface Adapter {
  a: tf.Variable;
  b: tf.Variable;
  scale: tf.Scalar;
  aOffset: number;
  bOffset: number;
}

/** Attaches LoRA adapters to `base` as its weights are now (attach after loading the pretrained base). */
export function attachLora(base: DiffusionModel, loraIn: LoraConfig): LoraModel {
  const lora = resolveLoraConfig(loraIn);
  const layout = buildLoraLayout(loraAdapterShapes(base.layout, lora), lora.method);
  const a0 = sharedA(layout, lora.seed);
  const trainA = lora.method === 'fedit';
  const scales = new Map<number, tf.Scalar>();
  const byEntry = new Map<string, Adapter>();
  for (const s of layout.adapters) {
    let scale = scales.get(s.scale);
    if (!scale) {
      scale = tf.scalar(s.scale);
      scales.set(s.scale, scale);
    }
    const a = tf.tidy(() => tf.variable(tf.tensor2d(a0.subarray(s.aOffset, s.aOffset + s.rank * s.fanIn), [s.rank, s.fanIn]), trainA));
    const b = tf.tidy(() => tf.variable(tf.zeros([s.fanOut, s.rank]), true));
    byEntry.set(`${s.name}.kernel`, { a, b, scale, aOffset: s.aOffset, bOffset: s.bOffset });
  }
  const entries = base.layout.entries;
  const adapterAt = entries.map((e) => byEntry.get(e.name));
  const adapters = [...byEntry.values()];
  // tf.clone shares the variable's data, and keeps it when the base is later assigned new values
  const frozen = base.variables.map((v) => tf.tidy(() => (lora.baseBits >= 32 ? tf.clone(v) : quantizeValue(v, lora.baseBits))));
  const variables = trainA ? [...adapters.map((x) => x.a), ...adapters.map((x) => x.b)] : adapters.map((x) => x.b);
  let disposed = false;
  const alive = () => {
    if (disposed) throw new Error('this LoraModel was disposed');
  };

  // Inside a tf.tidy: the frozen weight, plus scale * A^T B^T reshaped to the kernel where adapted.
  const weightOf = (i: number): tf.Tensor => {
    const ad = adapterAt[i];
    if (!ad) return frozen[i];
    const delta = tf.mul(tf.matMul(ad.a, ad.b, true, true), ad.scale);
    return tf.add(frozen[i], tf.reshape(delta, entries[i].shape));
  };

  /** The trainable vector from each adapter's [A, B] values (A ignored under FFA-LoRA). */
  const toVector = (values: readonly (readonly [ArrayLike<number> | null, ArrayLike<number>])[]): Float32Array => {
    const out = new Float32Array(layout.trainableLength);
    adapters.forEach((ad, k) => {
      const [a, b] = values[k];
      if (trainA && a) out.set(a, ad.aOffset);
      out.set(b, layout.bStart + ad.bOffset);
    });
    return out;
  };

  return {
    base,
    config: base.config,
    lora,
    layout,
    paramCount: layout.trainableLength,
    variables,
    tensorCount: 2 * adapters.length + frozen.length + scales.size,
    getAdapters() {
      alive();
      return toVector(adapters.map((ad) => [trainA ? (ad.a.dataSync() as Float32Array) : null, ad.b.dataSync() as Float32Array] as const));
    },
    async readAdapters() {
      alive();
      return toVector(await Promise.all(adapters.map(async (ad) => [trainA ? ((await ad.a.data()) as Float32Array) : null, (await ad.b.data()) as Float32Array] as const)));
    },
    setAdapters(vector: Float32Array) {
      alive();
      if (!(vector instanceof Float32Array) || vector.length !== layout.trainableLength) {
        throw new Error(
          `setAdapters expects a Float32Array of ${layout.trainableLength} values (the ${lora.method} adapter vector of this model and LoRA config), got ${vector instanceof Float32Array ? vector.length : typeof vector}`,
        );
      }
      for (const ad of adapters) {
        const [rank, fanIn] = ad.a.shape;
        const fanOut = ad.b.shape[0];
        if (trainA) tf.tidy(() => ad.a.assign(tf.tensor2d(vector.subarray(ad.aOffset, ad.aOffset + rank * fanIn), [rank, fanIn])));
        const b0 = layout.bStart + ad.bOffset;
        tf.tidy(() => ad.b.assign(tf.tensor2d(vector.subarray(b0, b0 + fanOut * rank), [fanOut, rank])));
      }
    },
    effectiveWeights() {
      alive();
      const out = new Float32Array(base.layout.total);
      entries.forEach((e, i) => {
        const w = tf.tidy(() => weightOf(i));
        out.set(w.dataSync() as Float32Array, e.offset);
        if (w !== frozen[i]) w.dispose();
      });
      return out;
    },
    predictNoise(x, t, labels, options = {}) {
      alive();
      return base.predictNoise(x, t, labels, { ...options, weightOf });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([...adapters.flatMap((ad) => [ad.a, ad.b]), ...frozen, ...scales.values()]);
    },
  };
}
