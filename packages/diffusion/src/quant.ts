// Fake quantization for quantization-aware training, as in "Quantized Federated Learning under
// Transmission Delay and Outage Constraints" / QNN-based FL (Kim, Saad et al., arXiv 2111.07911):
// each device trains a network whose weights (and optionally activations) are held at precision
// n bits. The forward pass sees quantized values; the backward pass is the straight-through
// estimator (identity), so the full-precision latent weights keep learning.
//
// Quantizer: deterministic round-to-nearest with one symmetric scale per tensor,
//   scale = max|x| / (2^(n-1) - 1),  q(x) = round(x / scale) * scale      (n in 2..15)
// n = 1 is binary: sign(x) * mean|x| (BinaryConnect-style, two values).
// n = 16 is IEEE half precision (round to nearest float16, saturating at 65504).
// n >= 32 is the identity and adds no op at all.
import * as tf from '@tensorflow/tfjs-core';

const HALF_MAX = 65504;

function symmetric(x: tf.Tensor, bits: number): tf.Tensor {
  if (bits === 1) return tf.mul(tf.sign(x), tf.mean(tf.abs(x)));
  const levels = 2 ** (bits - 1) - 1;
  const scale = tf.maximum(tf.div(tf.max(tf.abs(x)), levels), 1e-12);
  return tf.mul(tf.round(tf.div(x, scale)), scale);
}

/** Rounds to the nearest float16 value (subnormals included), in tensor ops. */
function half(x: tf.Tensor): tf.Tensor {
  const a = tf.abs(x);
  // exponent e with 2^e <= |x| < 2^(e+1), clamped to the smallest normal exponent -14; then fix
  // the float error of log2 near powers of two
  let e = tf.floor(tf.div(tf.log(tf.maximum(a, 2 ** -14)), Math.LN2));
  e = tf.where(tf.less(a, tf.pow(2, e)), tf.sub(e, 1), e);
  e = tf.where(tf.greaterEqual(a, tf.pow(2, tf.add(e, 1))), tf.add(e, 1), e);
  e = tf.maximum(e, -14);
  const quantum = tf.pow(2, tf.sub(e, 10));
  return tf.clipByValue(tf.mul(tf.round(tf.div(x, quantum)), quantum), -HALF_MAX, HALF_MAX);
}

/** Quantizes x at `bits` without a gradient path (the value the forward pass sees). */
export function quantizeValue(x: tf.Tensor, bits: number): tf.Tensor {
  if (!Number.isInteger(bits) || bits < 1) throw new Error(`precision must be an integer number of bits >= 1, got ${bits}`);
  if (bits >= 32) return x;
  return tf.tidy(() => (bits >= 16 ? half(x) : symmetric(x, bits)));
}

/** Fake quantization with the straight-through estimator: forward quantized, backward identity. */
export function fakeQuant<T extends tf.Tensor>(x: T, bits: number): T {
  if (bits >= 32) return x;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: quantizeValue(args[0] as tf.Tensor, bits),
    gradFunc: (dy: tf.Tensor) => dy,
  }));
  return f(x) as T;
}

/** Reference float16 rounding in plain JavaScript (for tests and the codec's half path). */
export function roundHalf(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a === 0) return v;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  e = Math.max(e, -14);
  const q = 2 ** (e - 10);
  const r = Math.sign(v) * roundHalfEven(a / q) * q;
  return Math.max(-HALF_MAX, Math.min(HALF_MAX, r));
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
