// The central anchor's quality against training steps, as an SVG: one curve per run and weights
// (raw, EMA) from the JSON lines central-anchor.ts --json wrote, at one sampling-step count.
//
//   npx tsx apps/cli/src/scripts/anchor-plot.ts --out fid-vs-steps.svg [--sample-steps 20] \
//     "constant lr=results/anchor/A.jsonl" "cosine + warm-up=results/anchor/B.jsonl"
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { lineChart } from '../plots';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, 'sample-steps': { type: 'string', default: '20' } },
  allowPositionals: true,
  strict: true,
});
if (!values.out) throw new Error('--out: expected the SVG file to write');
if (positionals.length === 0) throw new Error('expected one or more "label=path/to/run.jsonl" arguments');
const sampleSteps = Number(values['sample-steps']);
if (!Number.isInteger(sampleSteps) || sampleSteps < 1) throw new Error(`--sample-steps: expected a positive integer, got ${values['sample-steps']}`);

// One evaluation line; the last line of a run (the summary, with "steps") is skipped. Runs before
// --sample-steps lists wrote no sampleSteps: they sampled with 20.
const Evaluation = z.object({ step: z.number().int().positive(), weights: z.string(), fidMnist: z.number(), sampleSteps: z.number().int().default(20) });

const series = positionals.flatMap((arg) => {
  const at = arg.indexOf('=');
  if (at < 1) throw new Error(`"${arg}": expected label=path`);
  const [label, path] = [arg.slice(0, at), arg.slice(at + 1)];
  const byWeights = new Map<string, Array<[number, number]>>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const parsed = Evaluation.safeParse(JSON.parse(line));
    if (!parsed.success || parsed.data.sampleSteps !== sampleSteps) continue;
    const weights = parsed.data.weights.startsWith('ema') ? 'EMA' : 'raw';
    // EMA decays that coincide during warm-up repeat a point: keep the first.
    const points = byWeights.get(weights) ?? [];
    if (!points.some(([s]) => s === parsed.data.step)) points.push([parsed.data.step, parsed.data.fidMnist]);
    byWeights.set(weights, points);
  }
  if (byWeights.size === 0) throw new Error(`${path}: no evaluation at ${sampleSteps} sampling steps`);
  return [...byWeights].map(([weights, points]) => ({ name: `${label}, ${weights}`, points: points.sort((a, b) => a[0] - b[0]) }));
});

mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, lineChart(`Central anchor: FID-MNIST against steps (DDIM ${sampleSteps} steps, 1,000 samples)`, 'training steps (batch 8)', 'FID-MNIST (lower is better)', series));
console.log(`wrote ${values.out}: ${series.length} curves`);
