// How close a rerun comes: `npx tsx apps/cli/src/scripts/compare-runs.ts results/paper results/paper-rerun`
// compares two experiment outputs policy by policy: the final global weights bit for bit (from each
// run's checkpoint) and every figure of summary.json (energy, bytes, FID), printing a table and,
// with --json, one JSON line. Policies present in only one of the two are listed and skipped.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint } from '@fedbit/server';
import { table } from '../report';

const args = process.argv.slice(2).filter((a) => a !== '--json');
const asJson = process.argv.includes('--json');
if (args.length !== 2) {
  process.stderr.write('usage: npx tsx apps/cli/src/scripts/compare-runs.ts <experiment dir A> <experiment dir B> [--json]\n');
  process.exit(2);
}
const [a, b] = args;

type Figures = Record<string, number | null>;
function summary(dir: string): Record<string, Figures> {
  const path = join(dir, 'summary.json');
  if (!existsSync(path)) throw new Error(`${path}: no such file; expected the output folder of npm run experiment`);
  const json = JSON.parse(readFileSync(path, 'utf8')) as { policies?: Record<string, Figures>; rules?: Record<string, Figures> };
  return json.policies ?? json.rules ?? {};
}

function weights(dir: string, name: string): Float32Array | null {
  const path = join(dir, 'runs', name, 'checkpoint.bin');
  return existsSync(path) ? decodeCheckpoint(new Uint8Array(readFileSync(path)), path).weights : null;
}

const left = summary(a);
const right = summary(b);
const names = Object.keys(left).filter((n) => n in right);
const FIELDS = ['energyJ', 'computeJ', 'transmitJ', 'uplinkBytes', 'downlinkBytes', 'fid', 'diversity'];
const rows = names.map((name) => {
  const wa = weights(a, name);
  const wb = weights(b, name);
  const identical = wa !== null && wb !== null && wa.length === wb.length && Buffer.from(wa.buffer).equals(Buffer.from(wb.buffer));
  let maxAbs = 0;
  if (wa && wb && wa.length === wb.length) for (let i = 0; i < wa.length; i++) maxAbs = Math.max(maxAbs, Math.abs(wa[i] - wb[i]));
  const differing = FIELDS.filter((f) => f in left[name] && left[name][f] !== right[name][f]);
  return { name, weightsIdentical: identical, maxAbsWeightDiff: maxAbs, figuresDiffering: differing, fidA: left[name].fid, fidB: right[name].fid };
});
process.stdout.write(
  table(
    ['policy', 'weights bit-identical', 'max |weight diff|', 'figures that differ', 'FID A', 'FID B'],
    rows.map((r) => [r.name, r.weightsIdentical ? 'yes' : 'no', r.maxAbsWeightDiff.toExponential(2), r.figuresDiffering.join(', ') || 'none', r.fidA?.toFixed(3) ?? 'n/a', r.fidB?.toFixed(3) ?? 'n/a']),
  ) + '\n',
);
const only = [...Object.keys(left), ...Object.keys(right)].filter((n) => !names.includes(n));
if (only.length) process.stdout.write(`in one run only (not compared): ${[...new Set(only)].join(', ')}\n`);
if (asJson) process.stdout.write(JSON.stringify({ compared: rows }) + '\n');
