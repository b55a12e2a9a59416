// GroupNorm (Wu & He, arXiv 1803.08494) and SiLU (Elfwing et al., arXiv 1702.03118) with
// hand-written gradients, for WebGPU. tfjs differentiates GroupNorm through moments, rsqrt and
// broadcasting, and SiLU through sigmoid: each backward pass then makes about 25 element-wise
// dispatches per norm and uploads small CPU tensors that tfjs's gradient functions create at
// every call (scalars 2, 1.5 and 1, the reduction size, and a tensor of ones the size of the
// input for each mean). The gradients here are the closed forms, built from forward ops and the
// model's own constants (made once per model), so they upload nothing:
//   x_hat = (x - mu) / sigma over each group,  dx = (dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat)) / sigma
//   silu(x) = x s(x),  dsilu = s(x) (1 + x (1 - s(x)))
// The forward values are computed with the same ops as tfjs's path. On webgpu, GroupNorm followed
// by SiLU (every norm of the U-Net) runs as fused kernels with the same closed forms
// (./webgpu/group-norm-kernels.ts: 6 dispatches per norm instead of about 35). 'auto' uses the
// fused kernels, else these gradients, on webgpu only, where the uploads and dispatches cost
// most; tfjs's own (the oracle of norm.test.ts) stay on the other backends, whose numbers are
// then unchanged.
import * as tf from '@tensorflow/tfjs-core';
import { GN_GRAD_AFFINE, GN_GRAD_INPUT, GN_GRAD_SUMS, GN_MAX_ELEMENTS, GN_SILU, GN_STATS } from './webgpu/group-norm-kernels';

/** 'fused': GroupNorm + SiLU as the fused WebGPU kernels; 'custom': the closed-form gradients from tfjs ops; 'builtin': tfjs's autodiff. */
export type NormGradient = 'auto' | 'fused' | 'custom' | 'builtin';

/** GroupNorm's epsilon. */
export const GROUP_NORM_EPS = 1e-5;

let normGradient: NormGradient = 'auto';

/** 'auto': the fused kernels (or, without them, the closed-form gradients) on webgpu, tfjs's autodiff elsewhere. */
export function setNormGradient(mode: NormGradient): void {
  normGradient = mode;
}

function useCustom(mode: NormGradient): boolean {
  if (mode === 'custom' || mode === 'fused') return true;
  if (mode === 'builtin') return false;
  return tf.getBackend() === 'webgpu';
}

function useFused(mode: NormGradient, x: tf.Tensor): boolean {
  if (mode !== 'fused' && !(mode === 'auto' && tf.getBackend() === 'webgpu')) return false;
  return x.size <= GN_MAX_ELEMENTS && tf.getKernel(GN_STATS, tf.getBackend()) !== undefined;
}

/** Scalars a model's forward and backward passes use, made once (and kept) per model. */
export interface NormConstants {
  /** GroupNorm's epsilon, 1e-5. */
  eps: tf.Scalar;
  one: tf.Scalar;
}

/**
 * GroupNorm of an NHWC tensor over `groups` channel groups (statistics over space and the channels
 * of each group), then the per-channel affine gamma x_hat + beta.
 */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, c: NormConstants, mode: NormGradient = normGradient): tf.Tensor4D {
  const [n, h, w, ch] = x.shape;
  const grouped = tf.reshape(x, [n, h * w, groups, ch / groups]);
  const normed = useCustom(mode) ? normalizeCustom(grouped, c) : normalize(grouped, c);
  return tf.add(tf.mul(tf.reshape(normed, [n, h, w, ch]), gamma), beta) as tf.Tensor4D;
}

function normalize(grouped: tf.Tensor, c: NormConstants): tf.Tensor {
  const { mean, variance } = tf.moments(grouped, [1, 3], true);
  return tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, c.eps)));
}

function normalizeCustom(grouped: tf.Tensor, c: NormConstants): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [g, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(g, [1, 3], true);
    const inv = tf.rsqrt(tf.add(variance, c.eps));
    const xHat = tf.mul(tf.sub(g, mean), inv);
    save([xHat, inv]);
    return {
      value: xHat,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, iv] = saved;
        const meanDy = tf.mean(dy, [1, 3], true);
        const meanDyXh = tf.mean(tf.mul(dy, xh), [1, 3], true);
        return tf.mul(tf.sub(tf.sub(dy, meanDy), tf.mul(xh, meanDyXh)), iv);
      },
    };
  });
  return f(grouped);
}

/**
 * silu(groupNorm(x)): on webgpu the fused kernels (forward and backward); elsewhere, or for a
 * tensor larger than the kernels cover, the two ops above.
 */
export function groupNormSilu(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, c: NormConstants, mode: NormGradient = normGradient): tf.Tensor4D {
  if (!useFused(mode, x)) return silu(groupNorm(x, gamma, beta, groups, c, mode), c, mode) as tf.Tensor4D;
  if (x.shape[3] % groups !== 0) throw new Error(`groupNorm: ${groups} groups do not divide ${x.shape[3]} channels`);
  const engine = tf.engine();
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor4D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const stats = engine.runKernel(GN_STATS, { x: input }, { groups, eps: GROUP_NORM_EPS }) as tf.Tensor;
    const value = engine.runKernel(GN_SILU, { x: input, stats, gamma: g, beta: b }, { groups }) as tf.Tensor4D;
    save([input, g, b, stats]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, bs, st] = saved;
        const inputs = { dy, x: xs, stats: st, gamma: gs, beta: bs };
        const sums = engine.runKernel(GN_GRAD_SUMS, inputs, { groups }) as tf.Tensor;
        const dx = engine.runKernel(GN_GRAD_INPUT, { ...inputs, sums }, { groups }) as tf.Tensor;
        sums.dispose();
        const dGamma = engine.runKernel(GN_GRAD_AFFINE, inputs, { groups, which: 0 }) as tf.Tensor;
        const dBeta = engine.runKernel(GN_GRAD_AFFINE, inputs, { groups, which: 1 }) as tf.Tensor;
        return [dx, dGamma, dBeta];
      },
    };
  });
  return f(x, gamma, beta);
}

/** x * sigmoid(x). */
export function silu(x: tf.Tensor, c: NormConstants, mode: NormGradient = normGradient): tf.Tensor {
  if (!useCustom(mode)) return tf.mul(x, tf.sigmoid(x));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const s = tf.sigmoid(input);
    const y = tf.mul(input, s);
    save([s, y]);
    return {
      value: y,
      // s (1 + x (1 - s)) = s + y (1 - s)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sv, yv] = saved;
        return tf.mul(dy, tf.add(sv, tf.mul(yv, tf.sub(c.one, sv))));
      },
    };
  });
  return f(x);
}
