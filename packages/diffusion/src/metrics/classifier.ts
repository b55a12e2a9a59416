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

/** Weight names and shapes, in file order. */
export const CLASSIFIER_SHAPES: readonly { name: string; shape: number[] }[] = [
  { name: 'conv1/kernel', shape: [3, 3, 1, 16] },
  { name: 'conv1/bias', shape: [16] },
  { name: 'conv2/kernel', shape: [3, 3, 16, 32] },
  { name: 'conv2/bias', shape: [32] },
  { name: 'conv3/kernel', shape: [3, 3, 32, 64] },
  { name: 'conv3/bias', shape: [64] },
  { name: 'dense1/kernel', shape: [576, CLASSIFIER_FEATURES] },
  { name: 'dense1/bias', shape: [CLASSIFIER_FEATURES] },
  { name: 'dense2/kernel', shape: [CLASSIFIER_FEATURES, CLASSIFIER_CLASSES] },
  { name: 'dense2/bias', shape: [CLASSIFIER_CLASSES] },
];

export type ClassifierWeights = Record<string, tf.Tensor>;
type Conv = (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;

/** The network; `conv` is swappable so training can use a conv whose gradient works on wasm. */
export function classifierForward(w: ClassifierWeights, x: tf.Tensor4D, conv: Conv = (a, f) => tf.conv2d(a, f, 1, 'same')): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  const block = (input: tf.Tensor4D, name: string, pad: 'same' | 'valid'): tf.Tensor4D =>
    tf.avgPool(tf.relu(tf.add(conv(input, w[`${name}/kernel`] as tf.Tensor4D), w[`${name}/bias`])) as tf.Tensor4D, 2, 2, pad);
  const h1 = block(x, 'conv1', 'same');
  const h2 = block(h1, 'conv2', 'same');
  const h3 = block(h2, 'conv3', 'valid');
  const flat = tf.reshape(h3, [h3.shape[0], 576]) as tf.Tensor2D;
  const features = tf.relu(tf.add(tf.matMul(flat, w['dense1/kernel'] as tf.Tensor2D), w['dense1/bias'])) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(features, w['dense2/kernel'] as tf.Tensor2D), w['dense2/bias']) as tf.Tensor2D;
  return { features, logits };
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

const BATCH = 250;

class TfMnistClassifier implements MnistClassifier {
  readonly featureDim = CLASSIFIER_FEATURES;
  readonly classes = CLASSIFIER_CLASSES;
  constructor(
    private readonly weights: ClassifierWeights,
    readonly testAccuracy: number | undefined,
  ) {}

  async features(images: Float32Array, count: number, size: number, channels: number): Promise<ClassifierOutput> {
    const per = size * size * channels;
    const features = new Float64Array(count * this.featureDim);
    const probs = new Float64Array(count * this.classes);
    for (let start = 0; start < count; start += BATCH) {
      const n = Math.min(BATCH, count - start);
      const [f, p] = tf.tidy(() => {
        const x = toClassifierInput(images.subarray(start * per, (start + n) * per), n, size, channels);
        const out = classifierForward(this.weights, x);
        return [out.features, tf.softmax(out.logits)];
      });
      features.set(await f.data(), start * this.featureDim);
      probs.set(await p.data(), start * this.classes);
      f.dispose();
      p.dispose();
    }
    return { count, featureDim: this.featureDim, features, probs };
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
