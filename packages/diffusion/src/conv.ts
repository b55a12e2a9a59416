// Convolution and upsampling that train on every tfjs backend.
//
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel (tensorflow/tfjs#8474), and the cpu
// backend's is about 1000x slower than its forward convolution. Both gradients of a convolution
// are themselves convolutions, so conv2dTrainable computes them with forward Conv2D inside
// tf.customGrad:
//   filter gradient: dW[a,b,i,o] = sum_{n,y,x} X[n, s*y+a-pt, s*x+b-pl, i] * dY[n,y,x,o]
//     = a stride-1 convolution of X (channels as batch, batch as channels) with dY used as a
//       filter dilated by s; the output is kh x kw.
//   input gradient: dX = a stride-1 convolution of dY, zero-stuffed by s and padded, with the
//     kernel flipped in space and with input/output channels swapped.
// The cpu backend's resizeNearestNeighbor gradient is wrong for batch > 1, so upsampling has its
// own gradient too: each output pixel copies one input pixel, so dX is the 2x2 block sum of dY.
import * as tf from '@tensorflow/tfjs-core';

export type ConvGradient = 'auto' | 'custom' | 'builtin';

let convGradient: ConvGradient = 'auto';

/** 'auto' uses tfjs's built-in gradients on webgpu and webgl and the forward-conv ones elsewhere. */
export function setConvGradient(mode: ConvGradient): void {
  convGradient = mode;
}

export function getConvGradient(): ConvGradient {
  return convGradient;
}

function useCustom(mode: ConvGradient): boolean {
  if (mode === 'custom') return true;
  if (mode === 'builtin') return false;
  const backend = tf.getBackend();
  return backend !== 'webgpu' && backend !== 'webgl';
}

/** Output size and padding of a 'same' convolution, exactly as TensorFlow computes them. */
export function samePadding(inSize: number, kernel: number, stride: number): { out: number; before: number; after: number } {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = y.shape;
    const t0 = Math.max(-top, 0);
    const l0 = Math.max(-left, 0);
    y = tf.slice(y, [0, t0, l0, 0], [n, h - t0 - Math.max(-bottom, 0), w - l0 - Math.max(-right, 0), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [
      [0, 0],
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
      [0, 0],
    ]);
  }
  return y;
}

/**
 * Inserts stride-1 zeros after every row and column of dy: [n,h,w,c] -> [n,h*s,w*s,c].
 * Only 4-D tensors: tfjs-backend-webgpu 4.22 computes a 6-D pad wrongly (checked in Chromium).
 */
function zeroStuff(dy: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (stride === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const cols = tf.pad(tf.reshape(dy, [n * h, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, stride - 1],
    [0, 0],
  ]); // [n*h, w, s, c]
  const rows = tf.pad(tf.reshape(cols, [n, h, 1, w * stride * c]), [
    [0, 0],
    [0, 0],
    [0, stride - 1],
    [0, 0],
  ]); // [n, h, s, w*s*c]
  return tf.reshape(rows, [n, h * stride, w * stride, c]);
}

/** dL/dW of a 'same' convolution, from forward convolutions only. */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kernel: [number, number], stride: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [, ho, wo] = dy.shape;
  const [kh, kw] = kernel;
  const ph = samePadding(h, kh, stride);
  const pw = samePadding(w, kw, stride);
  // rows of the (padded) input that the dilated dy filter sweeps to give exactly kh outputs
  const bottom = kh + (ho - 1) * stride - h - ph.before;
  const right = kw + (wo - 1) * stride - w - pw.before;
  const xt = padOrCrop(tf.transpose(x, [3, 1, 2, 0]), ph.before, bottom, pw.before, right); // [ci,H',W',n]
  const filter = tf.transpose(dy, [1, 2, 0, 3]); // [ho,wo,n,co]
  const g = tf.conv2d(xt, filter, 1, 'valid', 'NHWC', stride); // [ci,kh,kw,co]
  return tf.transpose(g, [1, 2, 0, 3]);
}

/** dL/dX of a 'same' convolution, from forward convolutions only. */
export function convInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inShape: [number, number, number, number], stride: number): tf.Tensor4D {
  const [, h, w] = inShape;
  const [kh, kw] = filter.shape;
  const [, ho, wo] = dy.shape;
  const ph = samePadding(h, kh, stride);
  const pw = samePadding(w, kw, stride);
  const stuffed = zeroStuff(dy, stride); // ho*s rows; only the first (ho-1)*s+1 matter
  const top = kh - 1 - ph.before;
  const left = kw - 1 - pw.before;
  const bottom = h + kh - 1 - top - ho * stride;
  const right = w + kw - 1 - left - wo * stride;
  const padded = padOrCrop(stuffed, top, bottom, left, right);
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh,kw,co,ci]
  return tf.conv2d(padded, flipped, 1, 'valid');
}

/**
 * A 'same'-padded 2-D convolution (NHWC, filter [kh,kw,in,out], stride 1 or 2) whose gradients
 * work on every backend.
 */
export function conv2dTrainable(x: tf.Tensor4D, filter: tf.Tensor4D, stride: 1 | 2 = 1, mode: ConvGradient = convGradient): tf.Tensor4D {
  if (!useCustom(mode)) return tf.conv2d(x, filter, stride, 'same');
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, stride, 'same'),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [convInputGrad(dy, ws, xs.shape, stride), convFilterGrad(xs, dy, [ws.shape[0], ws.shape[1]], stride)];
      },
    };
  });
  return f(x, filter) as tf.Tensor4D;
}

/**
 * Nearest-neighbour 2x upsampling, cropped to (height, width), with a correct gradient on every
 * backend. `four`: a kept scalar 4 (a model passes its own, so the gradient uploads no new scalar).
 */
export function upsample2x(x: tf.Tensor4D, height?: number, width?: number, four?: tf.Scalar): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.image.resizeNearestNeighbor(args[0] as tf.Tensor4D, [2 * h, 2 * w]),
    gradFunc: (dy: tf.Tensor4D) => tf.mul(tf.avgPool(dy, 2, 2, 'valid'), four ?? 4),
  }));
  const up = f(x) as tf.Tensor4D;
  const th = height ?? 2 * h;
  const tw = width ?? 2 * w;
  if (th === 2 * h && tw === 2 * w) return up;
  return tf.slice(up, [0, 0, 0, 0], [n, th, tw, c]);
}
