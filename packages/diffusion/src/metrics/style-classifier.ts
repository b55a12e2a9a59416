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
import { bytesToBase64, runBatched, smallConvNetForward, smallConvNetShapes } from './classifier';
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

export const STYLE_SHAPES = smallConvNetShapes(3, 1024, STYLE_FEATURES, STYLE_CLASSES);

type Weights = Record<string, tf.Tensor>;
type Conv = (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;

export function styleForward(w: Weights, x: tf.Tensor4D, conv?: Conv): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  return smallConvNetForward(w, x, ['valid', 'valid', 'valid'], 1024, conv);
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
    return runBatched(
      count, this.featureDim, this.classes,
      (start, n) => tf.clipByValue(tf.tensor4d(images.subarray(start * per, (start + n) * per), [n, STYLE_INPUT, STYLE_INPUT, 3]), 0, 1) as tf.Tensor4D,
      (x) => styleForward(this.weights, x),
    );
  }

  dispose(): void {
    for (const t of Object.values(this.weights)) t.dispose();
  }
}
