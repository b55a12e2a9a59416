// Bias adds whose gradient is one reduction kernel on webgpu (./webgpu/sum-rows-kernel.ts) instead
// of tfjs's transpose + reduce: a layer's bias [C] added to x [..., C], and a per-image vector
// [n, C] added to every pixel of x [n, h, w, C] (the time embedding in each residual block). The
// forward is tf.add either way; elsewhere, and with `fused` false, tf.add's own gradient.
import * as tf from '@tensorflow/tfjs-core';
import { SUM_ROWS } from './webgpu/sum-rows-kernel';

function fusedHere(): boolean {
  return tf.getBackend() === 'webgpu' && tf.getKernel(SUM_ROWS, 'webgpu') !== undefined;
}

function withRowSumGrad(x: tf.Tensor, v: tf.Tensor, broadcast: number[], outer: number): tf.Tensor {
  const engine = tf.engine();
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b] = args as [tf.Tensor, tf.Tensor];
    return {
      value: tf.add(a, tf.reshape(b, broadcast)),
      gradFunc: (dy: tf.Tensor) => [tf.reshape(dy, a.shape), tf.reshape(engine.runKernel(SUM_ROWS, { x: dy }, { outer }) as tf.Tensor, b.shape)],
    };
  });
  return f(x, v);
}

/** x [..., C] + bias [C]. */
export function addBias(x: tf.Tensor, bias: tf.Tensor, fused = fusedHere()): tf.Tensor {
  if (!fused) return tf.add(x, bias);
  return withRowSumGrad(x, bias, bias.shape, 1);
}

/** x [n, h, w, C] + v [n, C] broadcast over space. */
export function addChannels(x: tf.Tensor, v: tf.Tensor, fused = fusedHere()): tf.Tensor {
  const [n, c] = v.shape;
  if (!fused) return tf.add(x, tf.reshape(v, [n, 1, 1, c]));
  return withRowSumGrad(x, v, [n, 1, 1, c], n);
}
