// The training both feature classifiers share: FID-MNIST's digit classifier (train-classifier.ts)
// and the emoji style classifier behind the style Fréchet distance (train-style-classifier.ts).
// Seeded He-normal weights (zero biases), a seeded LCG for the shuffles and the random shifts of
// up to 2 px (cheap augmentation for a few thousand images), Adam with a step decay over the last
// two epochs (lr, then lr*0.3, then lr*0.09, a fresh Adam per phase), and the held-out predictions
// after each epoch. Wasm in Node has no filter gradient, so the convs use conv2dTrainable.
import * as tf from '@tensorflow/tfjs-core';
import { conv2dTrainable } from '@fedbit/diffusion';

/** A numeric --name flag of the script, or its default. */
export function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const v = Number(process.argv[at + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${process.argv[at + 1]}`);
  return v;
}

/** A string --name flag of the script, if given. */
export function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

type Conv = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D;

export interface ClassifierTraining {
  shapes: readonly { name: string; shape: number[] }[];
  forward(vars: Record<string, tf.Tensor>, x: tf.Tensor4D, conv?: Conv): { logits: tf.Tensor2D };
  classes: number;
  /** Square images of size x size x channels, in trainX/evalX as floats. */
  size: number;
  channels: number;
  /** What a shift uncovers: 0 (black, MNIST) or 1 (white, emoji). */
  background: number;
  trainX: Float32Array;
  trainY: Int32Array;
  evalX: Float32Array;
  evalY: Int32Array;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** Four steps of one epoch only: a check that the script runs. */
  dryRun: boolean;
  /** The held-out accuracy words of an epoch's log line, from the predictions. */
  describe(predictions: Int32Array): string;
}

/** Trains; returns the variables and the held-out predictions of the final weights. */
export async function trainClassifier(t: ClassifierTraining): Promise<{ vars: Record<string, tf.Variable>; predictions: Int32Array }> {
  const { size: S, channels: C, epochs, batch, lr, seed } = t;
  const vars: Record<string, tf.Variable> = {};
  t.shapes.forEach(({ name, shape }, k) => {
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
    const init = name.endsWith('/bias') ? tf.zeros(shape) : tf.mul(tf.truncatedNormal(shape, 0, 1, 'float32', seed * 100 + k), Math.sqrt(2 / fanIn));
    vars[name] = tf.variable(init, true, name);
    init.dispose();
  });
  const conv: Conv = (x, f) => conv2dTrainable(x, f, 1);

  let state = seed >>> 0;
  const rand = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };

  const per = S * S * C;
  const predict = async (): Promise<Int32Array> => {
    const out = new Int32Array(t.evalY.length);
    for (let s = 0; s < out.length; s += 250) {
      const n = Math.min(250, out.length - s);
      const pred = tf.tidy(() => tf.argMax(t.forward(vars, tf.tensor4d(t.evalX.subarray(s * per, (s + n) * per), [n, S, S, C])).logits, 1));
      out.set(await pred.data(), s);
      pred.dispose();
    }
    return out;
  };

  const n = t.trainY.length;
  const steps = Math.ceil(n / batch);
  const phaseLr = (epoch: number): number => lr * (epoch >= epochs - 2 ? 0.3 : 1) * (epoch >= epochs - 1 ? 0.3 : 1);
  let optimizer = tf.train.adam(phaseLr(0));
  const started = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (epoch > 0 && phaseLr(epoch) !== phaseLr(epoch - 1)) {
      optimizer.dispose();
      optimizer = tf.train.adam(phaseLr(epoch));
    }
    const order = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const idx = order.subarray(s * batch, Math.min((s + 1) * batch, order.length));
      const xb = new Float32Array(idx.length * per).fill(t.background);
      const yb = new Int32Array(idx.length);
      idx.forEach((i, k) => {
        const dx = Math.floor(rand() * 5) - 2;
        const dy = Math.floor(rand() * 5) - 2;
        for (let y = 0; y < S; y++) {
          const sy = y - dy;
          if (sy < 0 || sy >= S) continue;
          for (let x = 0; x < S; x++) {
            const sx = x - dx;
            if (sx < 0 || sx >= S) continue;
            for (let c = 0; c < C; c++) xb[k * per + (y * S + x) * C + c] = t.trainX[i * per + (sy * S + sx) * C + c];
          }
        }
        yb[k] = t.trainY[i];
      });
      const loss = optimizer.minimize(() => {
        const x = tf.tensor4d(xb, [idx.length, S, S, C]);
        const { logits } = t.forward(vars, x, conv);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(yb, 'int32'), t.classes), logits) as tf.Scalar;
      }, true);
      lossSum += (await loss!.data())[0];
      loss!.dispose();
      if (t.dryRun && s >= 3) break;
    }
    console.log(`epoch ${epoch + 1}/${epochs}  loss ${(lossSum / steps).toFixed(4)}  ${t.describe(await predict())}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
    if (t.dryRun) break;
  }
  return { vars, predictions: await predict() };
}
