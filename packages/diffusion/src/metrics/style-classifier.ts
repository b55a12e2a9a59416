// The small emoji classifier behind the style Fréchet distance (issue 15), built like the MNIST
// classifier of FID-MNIST (./classifier.ts): forward-only tfjs-core ops, trained once by
// apps/cli/src/scripts/train-style-classifier.ts, weights in assets/emoji-style-classifier/ as
// float16. It predicts vendor x category (4 x 9 = 36 classes): its features must tell the drawing
// styles apart (the vendor) and still describe what is drawn (the category), where a 4-way vendor
// head lets the features collapse to a few directions.
//
// Input: 32x32 RGB in [0, 1] (white background).
//   conv 3x3x16 relu -> avgpool 2 (16) -> conv 3x3x32 relu -> avgpool 2 (8)
//   -> conv 3x3x64 relu -> avgpool 2 (4) -> flatten 1024 -> dense 64 relu (= features) -> dense 36
import * as tf from '@tensorflow/tfjs-core';
import { float32ToHalfBits, halfBitsToFloat32 } from '@fedbit/core';
import { bytesToBase64 } from './classifier';
import type { ClassifierOutput } from './classifier';

export const STYLE_CLASSIFIER_FORMAT = 'fedbit-emoji-style-classifier';
export const STYLE_CLASSIFIER_VERSION = 1;
export const STYLE_INPUT = 32;
export const STYLE_FEATURES = 64;
export const STYLE_VENDORS = ['apple', 'google', 'twitter', 'facebook'] as const;
export const STYLE_CATEGORIES = 9;
export const STYLE_CLASSES = STYLE_VENDORS.length * STYLE_CATEGORIES;

/** class = vendor * STYLE_CATEGORIES + category. */
export const styleClassOf = (vendor: number, category: number): number => vendor * STYLE_CATEGORIES + category;

export const STYLE_SHAPES: readonly { name: string; shape: number[] }[] = [
  { name: 'conv1/kernel', shape: [3, 3, 3, 16] },
  { name: 'conv1/bias', shape: [16] },
  { name: 'conv2/kernel', shape: [3, 3, 16, 32] },
  { name: 'conv2/bias', shape: [32] },
  { name: 'conv3/kernel', shape: [3, 3, 32, 64] },
  { name: 'conv3/bias', shape: [64] },
  { name: 'dense1/kernel', shape: [1024, STYLE_FEATURES] },
  { name: 'dense1/bias', shape: [STYLE_FEATURES] },
  { name: 'dense2/kernel', shape: [STYLE_FEATURES, STYLE_CLASSES] },
  { name: 'dense2/bias', shape: [STYLE_CLASSES] },
];

type Weights = Record<string, tf.Tensor>;
type Conv = (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;

export function styleForward(w: Weights, x: tf.Tensor4D, conv: Conv = (a, f) => tf.conv2d(a, f, 1, 'same')): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  const block = (input: tf.Tensor4D, name: string): tf.Tensor4D =>
    tf.avgPool(tf.relu(tf.add(conv(input, w[`${name}/kernel`] as tf.Tensor4D), w[`${name}/bias`])) as tf.Tensor4D, 2, 2, 'valid');
  const h = block(block(block(x, 'conv1'), 'conv2'), 'conv3');
  const flat = tf.reshape(h, [h.shape[0], 1024]) as tf.Tensor2D;
  const features = tf.relu(tf.add(tf.matMul(flat, w['dense1/kernel'] as tf.Tensor2D), w['dense1/bias'])) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(features, w['dense2/kernel'] as tf.Tensor2D), w['dense2/bias']) as tf.Tensor2D;
  return { features, logits };
}

export interface StyleClassifierJson {
  format: typeof STYLE_CLASSIFIER_FORMAT;
  version: number;
  inputSize: number;
  featureDim: number;
  classes: number;
  dtype: 'float16';
  /** Held-out accuracy on vendor x category, and on the vendor alone (argmax's vendor). */
  testAccuracy?: number;
  testVendorAccuracy?: number;
  trainedOn?: string;
  /** base64 of little-endian float16. */
  weights: { name: string; shape: number[]; data: string }[];
}

export function styleClassifierToJson(weights: Record<string, Float32Array>, meta: { testAccuracy?: number; testVendorAccuracy?: number; trainedOn?: string } = {}): StyleClassifierJson {
  return {
    format: STYLE_CLASSIFIER_FORMAT, version: STYLE_CLASSIFIER_VERSION, inputSize: STYLE_INPUT, featureDim: STYLE_FEATURES, classes: STYLE_CLASSES, dtype: 'float16',
    ...meta,
    weights: STYLE_SHAPES.map(({ name, shape }) => {
      const data = weights[name];
      if (!data || data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`style classifier weight ${name}: expected shape ${shape.join('x')}`);
      const bytes = new Uint8Array(data.length * 2);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < data.length; i++) view.setUint16(i * 2, float32ToHalfBits(data[i]), true);
      return { name, shape, data: bytesToBase64(bytes) };
    }),
  };
}

export interface StyleClassifier {
  readonly featureDim: number;
  readonly classes: number;
  readonly testAccuracy: number | undefined;
  /** Features and class probabilities of `count` 32x32x3 images in [0, 1]. */
  features(images: Float32Array, count: number): Promise<ClassifierOutput>;
  dispose(): void;
}

export function createStyleClassifierFromJson(json: unknown): StyleClassifier {
  const doc = json as Partial<StyleClassifierJson> | null;
  const bad = (why: string): never => {
    throw new Error(`not a ${STYLE_CLASSIFIER_FORMAT} document: ${why}. Retrain it with \`npx tsx apps/cli/src/scripts/train-style-classifier.ts\`.`);
  };
  if (!doc || typeof doc !== 'object' || doc.format !== STYLE_CLASSIFIER_FORMAT) bad(`format is ${JSON.stringify(doc?.format)}`);
  if (doc!.version !== STYLE_CLASSIFIER_VERSION) bad(`version ${String(doc!.version)}, expected ${STYLE_CLASSIFIER_VERSION}`);
  if (doc!.dtype !== 'float16') bad(`dtype ${JSON.stringify(doc!.dtype)}, expected "float16"`);
  if (!Array.isArray(doc!.weights)) bad('no weights list');
  const values: Record<string, Float32Array> = {};
  for (const { name, shape } of STYLE_SHAPES) {
    const entry = doc!.weights!.find((w) => w.name === name);
    if (!entry) bad(`weight ${name} is missing`);
    if (JSON.stringify(entry!.shape) !== JSON.stringify(shape)) bad(`weight ${name} has shape ${JSON.stringify(entry!.shape)}, expected ${JSON.stringify(shape)}`);
    const bin = atob(entry!.data);
    const size = shape.reduce((a, b) => a * b, 1);
    if (bin.length !== size * 2) bad(`weight ${name} has ${bin.length} bytes, expected ${size * 2}`);
    const v = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      v[i] = halfBitsToFloat32(bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8));
      if (!Number.isFinite(v[i])) bad(`weight ${name} holds a non-finite value`);
    }
    values[name] = v;
  }
  const weights: Weights = {};
  for (const { name, shape } of STYLE_SHAPES) weights[name] = tf.tensor(values[name], shape);
  return new TfStyleClassifier(weights, doc!.testAccuracy);
}

const BATCH = 250;

class TfStyleClassifier implements StyleClassifier {
  readonly featureDim = STYLE_FEATURES;
  readonly classes = STYLE_CLASSES;
  constructor(
    private readonly weights: Weights,
    readonly testAccuracy: number | undefined,
  ) {}

  async features(images: Float32Array, count: number): Promise<ClassifierOutput> {
    const per = STYLE_INPUT * STYLE_INPUT * 3;
    if (!Number.isInteger(count) || count < 1 || images.length < count * per) {
      throw new RangeError(`style classifier: expected ${count} images of 32x32x3 (${count * per} values), got ${images.length} values`);
    }
    const features = new Float64Array(count * this.featureDim);
    const probs = new Float64Array(count * this.classes);
    for (let start = 0; start < count; start += BATCH) {
      const n = Math.min(BATCH, count - start);
      const [f, p] = tf.tidy(() => {
        const x = tf.clipByValue(tf.tensor4d(images.subarray(start * per, (start + n) * per), [n, STYLE_INPUT, STYLE_INPUT, 3]), 0, 1) as tf.Tensor4D;
        const out = styleForward(this.weights, x);
        return [out.features, tf.softmax(out.logits)];
      });
      features.set(await f.data(), start * this.featureDim);
      probs.set(await p.data(), start * this.classes);
      f.dispose();
      p.dispose();
    }
    return { count, featureDim: this.featureDim, features, probs };
  }

  dispose(): void {
    for (const t of Object.values(this.weights)) t.dispose();
  }
}
