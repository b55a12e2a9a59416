// The U-Net cut in two for split learning (Vepakomma et al., arXiv 1812.00564; SplitFed, Thapa et
// al., arXiv 2004.12088; the lightweight scheme of Zhang, Ni, Wang, arXiv 2412.06414): the device
// keeps the front (time and label embedding, the first `cut` down stages), the server the back.
// The U-Net's skips cross the cut: the device sends the embedding and every down-stage output it
// computed; the server returns the gradient of the loss with respect to each of them.
//
// The device owns the time MLP and the label embedding: every block on both sides reads the
// embedding, so whichever side owns it must send it; on the device it costs one [n, embedDim]
// tensor more each way, and the server never sees the raw timestep or label.
//
// Parameters: the front's are a prefix of the full layout (net.ts declares them first), so a
// device part is weights[0, deviceSize) and a server part weights[deviceSize, total).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { buildLayout, type LayoutEntry } from './layout';
import { labelOneHot, timeFeatures, TfOps, type ModelConstants } from './model';
import { GROUP_NORM_EPS } from './norm';
import { downStageCount, ShapeOps, traceNet, unetBack, unetFront, type FrontOutputs } from './net';

export interface SplitPlan {
  cut: number;
  /** Layout entries [0, deviceEntries) are the device's. */
  deviceEntries: number;
  deviceSize: number;
  serverSize: number;
  /** Per image, the shape of each tensor that crosses the cut: the embedding [embedDim], then the skips [h, w, c]. */
  crossing: number[][];
  /** Float values crossing per image (the sum of the shapes' sizes). */
  crossingPerImage: number;
  /** Forward multiply-accumulates per image of each part. */
  deviceMacsPerImage: number;
  serverMacsPerImage: number;
}

export function splitPlan(config: ModelConfig, cut: number): SplitPlan {
  const stages = downStageCount(config);
  if (!Number.isInteger(cut) || cut < 1 || cut > stages) throw new Error(`split cut must be an integer in 1..${stages} (the down path's stages), got ${cut}`);
  const front = new ShapeOps(config.numClasses);
  const labels = config.numClasses > 0 ? [1, config.numClasses + 1] : null;
  const out = unetFront(front, config, [1, config.imageSize, config.imageSize, config.channels], [1, config.embedDim], labels, cut);
  const full = traceNet(config, 1);
  const layout = buildLayout(full.params);
  const deviceEntries = front.params.length;
  front.params.forEach((p, i) => {
    if (full.params[i].name !== p.name) throw new Error(`the front's parameter ${p.name} is not a prefix of the layout`);
  });
  const deviceSize = deviceEntries === layout.entries.length ? layout.total : layout.entries[deviceEntries].offset;
  const crossing = [[config.embedDim], ...out.skips.map((s) => s.slice(1))];
  return {
    cut,
    deviceEntries,
    deviceSize,
    serverSize: layout.total - deviceSize,
    crossing,
    crossingPerImage: crossing.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0),
    deviceMacsPerImage: front.macs,
    serverMacsPerImage: full.macs - front.macs,
  };
}

/** One side's weights as tfjs variables. */
export interface SplitPart {
  readonly plan: SplitPlan;
  readonly variables: readonly tf.Variable[];
  readonly entries: readonly LayoutEntry[];
  readonly size: number;
  getWeights(): Float32Array;
  setWeights(weights: Float32Array): void;
  dispose(): void;
}

export interface DevicePart extends SplitPart {
  /** The front's outputs for x_t [n,H,W,C] at timesteps t (labels ignored by an unconditional model). The caller disposes them. */
  forward(x: tf.Tensor4D, t: ArrayLike<number>, labels?: ArrayLike<number>): FrontOutputs<tf.Tensor>;
  /**
   * The device's backward: gradients of its variables given the gradients at the cut (one per
   * crossing tensor), J^T g by differentiating sum_i <out_i, g_i>. Recomputes the forward (the
   * tape does not survive the wait for the server). Named as the variables; the caller disposes.
   */
  gradients(x: tf.Tensor4D, t: ArrayLike<number>, labels: ArrayLike<number> | undefined, atCut: FrontOutputs<tf.Tensor>): tf.NamedTensorMap;
}

export interface ServerStep {
  loss: tf.Scalar;
  /** d loss / d (each crossing tensor). */
  atCut: FrontOutputs<tf.Tensor>;
  /** d loss / d (each server variable), named as the variables. */
  grads: tf.NamedTensorMap;
}

export interface ServerPart extends SplitPart {
  forward(front: FrontOutputs<tf.Tensor>): tf.Tensor4D;
  /** Loss = mean (target - back(front))^2, with the gradients at the cut and of the server's variables. The caller disposes all of it. */
  step(front: FrontOutputs<tf.Tensor>, target: tf.Tensor4D): ServerStep;
}

function makePart(config: ModelConfig, plan: SplitPlan, side: 'device' | 'server', weights: Float32Array) {
  const layout = buildLayout(traceNet(config, 1).params);
  const entries = side === 'device' ? layout.entries.slice(0, plan.deviceEntries) : layout.entries.slice(plan.deviceEntries);
  const base = side === 'device' ? 0 : plan.deviceSize;
  const size = side === 'device' ? plan.deviceSize : plan.serverSize;
  if (!(weights instanceof Float32Array) || weights.length !== size) throw new Error(`the ${side} part of cut ${plan.cut} has ${size} weights, got ${weights?.length ?? 'none'}`);
  const variables = entries.map((e) => tf.tidy(() => tf.variable(tf.tensor(weights.subarray(e.offset - base, e.offset - base + e.size), e.shape), true)));
  const constants: ModelConstants = { eps: tf.scalar(GROUP_NORM_EPS), one: tf.scalar(1), four: tf.scalar(4) };
  const ops = () =>
    new TfOps(
      new Map(entries.map((e, i) => [e.name, variables[i] as tf.Tensor])),
      32,
      constants,
    );
  let disposed = false;
  const part: SplitPart = {
    plan,
    variables,
    entries,
    size,
    getWeights() {
      const out = new Float32Array(size);
      entries.forEach((e, i) => out.set(variables[i].dataSync() as Float32Array, e.offset - base));
      return out;
    },
    setWeights(w) {
      if (!(w instanceof Float32Array) || w.length !== size) throw new Error(`setWeights of the ${side} part expects ${size} values, got ${w?.length ?? 'none'}`);
      entries.forEach((e, i) => tf.tidy(() => variables[i].assign(tf.tensor(w.subarray(e.offset - base, e.offset - base + e.size), e.shape))));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([...variables, constants.eps, constants.one, constants.four]);
    },
  };
  return { part, ops };
}

/** The device's part of cut `cut`, holding `weights` (the first plan.deviceSize values of a full model's). */
export function createDevicePart(config: ModelConfig, cut: number, weights: Float32Array): DevicePart {
  const plan = splitPlan(config, cut);
  const { part, ops } = makePart(config, plan, 'device', weights);
  const run = (x: tf.Tensor4D, t: ArrayLike<number>, labels?: ArrayLike<number>) => {
    const n = x.shape[0];
    if (t.length !== n) throw new Error(`one timestep per image: ${n} images, ${t.length} timesteps`);
    const feats = tf.tensor2d(timeFeatures(t, config.embedDim), [n, config.embedDim]);
    const oneHot = config.numClasses > 0 ? tf.tensor2d(labelOneHot(labels, n, config.numClasses), [n, config.numClasses + 1]) : null;
    return unetFront(ops(), config, x, feats, oneHot, cut);
  };
  return {
    ...part,
    forward(x, t, labels) {
      const [emb, ...skips] = tf.tidy(() => {
        const out = run(x, t, labels);
        return [out.emb, ...out.skips];
      });
      return { emb, skips };
    },
    gradients(x, t, labels, atCut) {
      if (atCut.skips.length !== cut) throw new Error(`cut ${cut} needs ${cut} skip gradients, got ${atCut.skips.length}`);
      return tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const out = run(x, t, labels);
          let sum = tf.sum(tf.mul(out.emb, atCut.emb));
          out.skips.forEach((s, i) => (sum = tf.add(sum, tf.sum(tf.mul(s, atCut.skips[i])))));
          return sum as tf.Scalar;
        }, part.variables as tf.Variable[]);
        return grads;
      });
    },
  };
}

/** The server's part of cut `cut`, holding `weights` (the values of a full model's from plan.deviceSize on). */
export function createServerPart(config: ModelConfig, cut: number, weights: Float32Array): ServerPart {
  const plan = splitPlan(config, cut);
  const { part, ops } = makePart(config, plan, 'server', weights);
  return {
    ...part,
    forward(front) {
      return tf.tidy(() => unetBack(ops(), config, front, cut) as tf.Tensor4D);
    },
    step(front, target) {
      if (front.skips.length !== cut) throw new Error(`cut ${cut} needs ${cut} skip tensors, got ${front.skips.length}`);
      const vars = part.variables as tf.Variable[];
      const inputs = [front.emb, ...front.skips];
      const result = tf.tidy(() => {
        const f = (...args: tf.Tensor[]) => {
          const [emb, ...skips] = args.slice(vars.length);
          const pred = unetBack(ops(), config, { emb, skips }, cut);
          return tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar;
        };
        const { value, grads } = tf.valueAndGrads(f)([...vars, ...inputs]);
        return [value, ...grads];
      });
      const [loss, ...grads] = result;
      const named: tf.NamedTensorMap = {};
      vars.forEach((v, i) => (named[v.name] = grads[i]));
      const cutGrads = grads.slice(vars.length);
      return { loss: loss as tf.Scalar, atCut: { emb: cutGrads[0], skips: cutGrads.slice(1) }, grads: named };
    },
  };
}
