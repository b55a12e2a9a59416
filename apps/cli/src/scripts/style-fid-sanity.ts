// The sanity table of the style Fréchet distance (NOT Inception FID; docs/LORA.md): real held-out
// images against real held-out images of the same vendor (two halves), of other vendors, and
// uniform noise, all in the committed emoji style classifier's features.
//
//   npx tsx apps/cli/src/scripts/style-fid-sanity.ts [--classifier <file.json>] [--real-count 300] [--json]
import { pathToFileURL } from 'node:url';
import { initBackend } from '@fedbit/diffusion';
import { frechetDistance, loadStyleClassifier, styleStats, type GaussianStats } from '@fedbit/diffusion/metrics';
import { styleReferenceImages } from '@fedbit/diffusion/node';
import { loadDataset } from '@fedbit/datasets/node';

await initBackend('wasm');
const ds = await loadDataset('emoji');
const at = process.argv.indexOf('--classifier');
const classifier = await loadStyleClassifier(at > 0 ? pathToFileURL(process.argv[at + 1]) : undefined);
const per = 32 * 32 * 3;
const sets = new Map<string, { images: Float32Array; count: number }>();
for (const v of ['apple', 'google', 'twitter', 'facebook']) sets.set(v, await styleReferenceImages(v, ds));
const apple = sets.get('apple')!;
const half = Math.floor(apple.count / 2);
// Halves by alternate images, so both halves span every category.
const pick = (src: { images: Float32Array; count: number }, from: number, n: number): Float32Array => {
  const out = new Float32Array(n * per);
  for (let k = 0; k < n; k++) out.set(src.images.subarray((from + 2 * k) * per, (from + 2 * k + 1) * per), k * per);
  return out;
};
const stats = async (images: Float32Array, count: number): Promise<GaussianStats> => styleStats(images, count, classifier);
const appleA = await stats(pick(apple, 0, half), half);
const appleB = await stats(pick(apple, 1, half), half);
let state = 7;
const noise = Float32Array.from({ length: half * per }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32));
const rows: Array<[string, number]> = [];
const fd = (a: GaussianStats, b: GaussianStats): number => frechetDistance(a.mu, a.cov, b.mu, b.cov);
rows.push([`apple half A vs apple half B (${half} vs ${half})`, fd(appleA, appleB)]);
for (const v of ['google', 'twitter', 'facebook']) {
  const s = sets.get(v)!;
  rows.push([`apple half A vs ${v} half A (${half} vs ${half})`, fd(appleA, await stats(pick(s, 0, half), half))]);
}
const tw = sets.get('twitter')!;
rows.push([`twitter half A vs facebook half A (${half} vs ${half})`, fd(await stats(pick(tw, 0, half), half), await stats(pick(sets.get('facebook')!, 0, half), half))]);
rows.push([`uniform noise vs apple half A (${half} vs ${half})`, fd(await stats(noise, half), appleA)]);
// The scale of the pretrained base's figures: n (default 300) real TRAIN images of apple+google (not in any
// reference) against the held-out apple+google and twitter+facebook sets, as styleFid scores samples.
{
  const { vendorSplit, toFloatImages } = await import('@fedbit/datasets');
  const train = vendorSplit(ds, 'apple,google').train;
  const rc = process.argv.indexOf('--real-count');
  const n = rc > 0 ? Number(process.argv[rc + 1]) : 300;
  if (!Number.isInteger(n) || n < 2 || n > train.length) throw new Error(`--real-count: expected a whole number from 2 to ${train.length}, got ${process.argv[rc + 1]}`);
  const idx = Int32Array.from({ length: n }, (_, k) => train[Math.floor((k * train.length) / n)]);
  const real = await stats(toFloatImages(ds, idx), n);
  for (const ref of ['apple,google', 'twitter,facebook']) {
    const r = await styleReferenceImages(ref, ds);
    rows.push([`${n} real train apple+google vs held-out ${ref.replace(',', '+')} (${r.count})`, fd(real, await stats(r.images, r.count))]);
  }
}
console.log(`style Fréchet distance (NOT Inception FID), emoji style classifier (held-out accuracy ${((classifier.testAccuracy ?? NaN) * 100).toFixed(1)}% on vendor x category), held-out images of vendorSplit(seed 0)`);
for (const [name, value] of rows) console.log(`${name.padEnd(64)} ${value.toFixed(2)}`);
if (process.argv.includes('--json')) console.log(JSON.stringify(Object.fromEntries(rows.map(([k, v]) => [k, Number(v.toFixed(3))]))));
classifier.dispose();
