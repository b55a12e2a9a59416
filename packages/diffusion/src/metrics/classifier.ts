// The small MNIST classifier behind FID-MNIST and the diversity figures. Forward-only tfjs-core
// ops (conv2d, avgPool, matMul, resizeBilinear), so it runs on every backend; trained once by
// apps/cli/src/scripts/train-classifier.ts, weights in assets/mnist-classifier/.
//
// Input: 28x28 grayscale in [0, 1]. Smaller images (14x14, 16x16) are upsampled bilinearly
// (half-pixel centres) to 28x28 first; RGB is turned to grey with Rec. 601 luma.
//
//   conv 3x3x16 relu -> avgpool 2 (14) -> conv 3x3x32 relu -> avgpool 2 (7)
//   -> conv 3x3x64 relu -> avgpool 2 valid (3) -> flatten 576 -> dense 128 relu (= features)
//   -> dense 10 (logits)
import * as tf from '@tensorflow/tfjs-core';

export const CLASSIFIER_FORMAT = 'fedbit-mnist-classifier';
export const CLASSIFIER_VERSION = 1;
export const CLASSIFIER_INPUT = 28;
export const CLASSIFIER_FEATURES = 128;
export const CLASSIFIER_CLASSES = 10;

/**
 * The weight names and shapes, in file order, of the small conv net both metric classifiers use
 * (this one and the emoji style classifier, ./style-classifier.ts): three 3x3 conv + relu + avgpool
 * blocks of 16, 32 and 64 channels, a dense layer of `features` (relu), a dense layer of `classes`.
 */
export function smallConvNetShapes(inChannels: number, flat: number, features: number, classes: number): readonly { name: string; shape: number[] }[] {
  return [
    { name: 'conv1/kernel', shape: [3, 3, inChannels, 16] },
    { name: 'conv1/bias', shape: [16] },
    { name: 'conv2/kernel', shape: [3, 3, 16, 32] },
    { name: 'conv2/bias', shape: [32] },
    { name: 'conv3/kernel', shape: [3, 3, 32, 64] },
    { name: 'conv3/bias', shape: [64] },
    { name: 'dense1/kernel', shape: [flat, features] },
    { name: 'dense1/bias', shape: [features] },
    { name: 'dense2/kernel', shape: [features, classes] },
    { name: 'dense2/bias', shape: [classes] },
  ];
}

/** Weight names and shapes, in file order. */
export const CLASSIFIER_SHAPES = smallConvNetShapes(1, 576, CLASSIFIER_FEATURES, CLASSIFIER_CLASSES);

export type ClassifierWeights = Record<string, tf.Tensor>;
type Conv = (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;

/**
 * The small conv net's forward pass (smallConvNetShapes): each block's pooling is 'same' or
 * 'valid' as `pads` says, the last block flattened to `flat` values. `conv` is swappable so
 * training can use a conv whose gradient works on wasm.
 */
export function smallConvNetForward(
  w: ClassifierWeights, x: tf.Tensor4D, pads: readonly ['same' | 'valid', 'same' | 'valid', 'same' | 'valid'], flat: number, conv: Conv = (a, f) => tf.conv2d(a, f, 1, 'same'),
): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  const block = (input: tf.Tensor4D, name: string, pad: 'same' | 'valid'): tf.Tensor4D =>
    tf.avgPool(tf.relu(tf.add(conv(input, w[`${name}/kernel`] as tf.Tensor4D), w[`${name}/bias`])) as tf.Tensor4D, 2, 2, pad);
  const h = block(block(block(x, 'conv1', pads[0]), 'conv2', pads[1]), 'conv3', pads[2]);
  const flattened = tf.reshape(h, [h.shape[0], flat]) as tf.Tensor2D;
  const features = tf.relu(tf.add(tf.matMul(flattened, w['dense1/kernel'] as tf.Tensor2D), w['dense1/bias'])) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(features, w['dense2/kernel'] as tf.Tensor2D), w['dense2/bias']) as tf.Tensor2D;
  return { features, logits };
}

/** The network; `conv` is swappable so training can use a conv whose gradient works on wasm. */
export function classifierForward(w: ClassifierWeights, x: tf.Tensor4D, conv?: Conv): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  return smallConvNetForward(w, x, ['same', 'same', 'valid'], 576, conv);
}

/** Images per forward pass when computing features. */
const BATCH = 250;

/**
 * Features and softmax probabilities of `count` images, BATCH at a time: `input(start, n)` makes a
 * batch's input tensor (inside a tidy), `forward` runs the network on it.
 */
export async function runBatched(
  count: number, featureDim: number, classes: number, input: (start: number, n: number) => tf.Tensor4D, forward: (x: tf.Tensor4D) => { features: tf.Tensor2D; logits: tf.Tensor2D },
): Promise<ClassifierOutput> {
  const features = new Float64Array(count * featureDim);
  const probs = new Float64Array(count * classes);
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const [f, p] = tf.tidy(() => {
      const out = forward(input(start, n));
      return [out.features, tf.softmax(out.logits)];
    });
    features.set(await f.data(), start * featureDim);
    probs.set(await p.data(), start * classes);
    f.dispose();
    p.dispose();
  }
  return { count, featureDim, features, probs };
}

/** `count` NHWC images of size x size x channels in [0, 1] -> [count, 28, 28, 1]. */
export function toClassifierInput(images: Float32Array, count: number, size: number, channels: number): tf.Tensor4D {
  if (channels !== 1 && channels !== 3) throw new RangeError(`MNIST classifier: channels must be 1 or 3, got ${channels}`);
  if (images.length < count * size * size * channels) throw new RangeError(`MNIST classifier: ${images.length} values is fewer than count*size*size*channels = ${count * size * size * channels}`);
  return tf.tidy(() => {
    let x = tf.tensor4d(images.subarray(0, count * size * size * channels), [count, size, size, channels]);
    if (channels === 3) x = tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), 3, true) as tf.Tensor4D;
    if (size !== CLASSIFIER_INPUT) x = tf.image.resizeBilinear(x, [CLASSIFIER_INPUT, CLASSIFIER_INPUT], false, true);
    return tf.clipByValue(x, 0, 1) as tf.Tensor4D;
  });
}

/** The serialised classifier: one JSON document, weights as base64 little-endian float32. */
export interface ClassifierJson {
  format: typeof CLASSIFIER_FORMAT;
  version: number;
  inputSize: number;
  featureDim: number;
  classes: number;
  /** Accuracy on the held-out MNIST split when it was trained. */
  testAccuracy?: number;
  trainedOn?: string;
  weights: { name: string; shape: number[]; data: string }[];
}

export interface ClassifierOutput {
  count: number;
  featureDim: number;
  /** count x featureDim, row-major: the penultimate (dense1, post-ReLU) activations. */
  features: Float64Array;
  /** count x 10, row-major: softmax class probabilities. */
  probs: Float64Array;
}

export interface MnistClassifier {
  readonly featureDim: number;
  readonly classes: number;
  readonly testAccuracy: number | undefined;
  /** Runs the network in batches; images NHWC in [0, 1] of size x size x channels. */
  features(images: Float32Array, count: number, size: number, channels: number): Promise<ClassifierOutput>;
  /** Argmax class per image. */
  predict(images: Float32Array, count: number, size: number, channels: number): Promise<Int32Array>;
  dispose(): void;
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Serialises trained weights (used by the training script). */
export function classifierToJson(weights: Record<string, Float32Array>, meta: { testAccuracy?: number; trainedOn?: string } = {}): ClassifierJson {
  return {
    format: CLASSIFIER_FORMAT,
    version: CLASSIFIER_VERSION,
    inputSize: CLASSIFIER_INPUT,
    featureDim: CLASSIFIER_FEATURES,
    classes: CLASSIFIER_CLASSES,
    ...meta,
    weights: CLASSIFIER_SHAPES.map(({ name, shape }) => {
      const data = weights[name];
      if (!data || data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`classifier weight ${name}: expected shape ${shape.join('x')}`);
      return { name, shape, data: bytesToBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
    }),
  };
}

/** Builds the classifier from its JSON (fetched in a browser, read from disk in Node). */
export function createMnistClassifierFromJson(json: unknown): MnistClassifier {
  const doc = json as Partial<ClassifierJson> | null;
  const bad = (why: string): never => {
    throw new Error(`not a ${CLASSIFIER_FORMAT} document: ${why}. Retrain it with \`npx tsx apps/cli/src/scripts/train-classifier.ts\`.`);
  };
  if (!doc || typeof doc !== 'object' || doc.format !== CLASSIFIER_FORMAT) bad(`format is ${JSON.stringify(doc?.format)}`);
  if (doc!.version !== CLASSIFIER_VERSION) bad(`version ${String(doc!.version)}, expected ${CLASSIFIER_VERSION}`);
  if (!Array.isArray(doc!.weights)) bad('no weights list');
  const weights: ClassifierWeights = {};
  for (const { name, shape } of CLASSIFIER_SHAPES) {
    const entry = doc!.weights!.find((w) => w.name === name);
    if (!entry) bad(`weight ${name} is missing`);
    if (JSON.stringify(entry!.shape) !== JSON.stringify(shape)) bad(`weight ${name} has shape ${JSON.stringify(entry!.shape)}, expected ${JSON.stringify(shape)}`);
    const bytes = base64ToBytes(entry!.data);
    const size = shape.reduce((a, b) => a * b, 1);
    if (bytes.length !== size * 4) bad(`weight ${name} has ${bytes.length} bytes, expected ${size * 4}`);
    const values = new Float32Array(size);
    new Uint8Array(values.buffer).set(bytes);
    weights[name] = tf.tensor(values, shape);
  }
  return new TfMnistClassifier(weights, doc!.testAccuracy);
}


class TfMnistClassifier implements MnistClassifier {
  readonly featureDim = CLASSIFIER_FEATURES;
  readonly classes = CLASSIFIER_CLASSES;
  constructor(
    private readonly weights: ClassifierWeights,
    readonly testAccuracy: number | undefined,
  ) {}

  async features(images: Float32Array, count: number, size: number, channels: number): Promise<ClassifierOutput> {
    const per = size * size * channels;
    return runBatched(count, this.featureDim, this.classes, (start, n) => toClassifierInput(images.subarray(start * per, (start + n) * per), n, size, channels), (x) => classifierForward(this.weights, x));
  }

  async predict(images: Float32Array, count: number, size: number, channels: number): Promise<Int32Array> {
    const { probs } = await this.features(images, count, size, channels);
    const out = new Int32Array(count);
    for (let n = 0; n < count; n++) {
      let best = 0;
      for (let k = 1; k < this.classes; k++) if (probs[n * this.classes + k] > probs[n * this.classes + best]) best = k;
      out[n] = best;
    }
    return out;
  }

  dispose(): void {
    for (const t of Object.values(this.weights)) t.dispose();
  }
}
