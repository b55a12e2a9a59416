// `npm run bench:ddg-rotation`: what the DDG paper's flattening (Kairouz, Liu, Steinke, ICML 2021,
// arXiv 2102.06387, Algorithm 1; packages/core/src/privacy/rotation.ts) buys at a given number of
// mask bits m a value. n devices, each with a synthetic update of the tiny model's size, run the
// distributed discrete Gaussian end to end (ddgIntegers: clip, [rotate,] round conditionally, add
// noise; the sum modulo 2^m; decodeDdgMean), at the same epsilon (one round, every device sends, q = 1,
// delta 1e-5; the noise multiplier is solved for it per row), three ways:
//   rotation     the plan's gamma is the finest whose rotated sum fits m (planDdg with a budget);
//   worst case   no rotation, gamma the finest whose sum fits m for any vector (one coordinate may
//                carry every device's whole norm): never wraps, but coarse gamma when bits are short;
//   flat, no rot the rotation's gamma without the rotation: what sizing for typical coordinates costs
//                when a coordinate is not typical (it wraps).
// Two kinds of update: dense (every coordinate Gaussian) and spiky (half the norm in 8 coordinates,
// the same for every device, like a bias every device moves the same way). Error: the decoded mean
// against the true mean of the clipped updates, as MSE over the ideal's (the continuous Gaussian
// mechanism at the same epsilon and clip: (z* C / n)^2 a value; 1.00 = the integers cost nothing)
// and relative L2 (JSON), and the largest error of one value in the ideal's standard deviations (a
// wrapped value shows here). Noise from a seeded generator (devices use the platform's cryptographic one:
// this measures error, not privacy). Ends with one JSON line with --json.
import { cpus } from 'node:os';
import { z } from 'zod';
import { Rng, countWraps, ddgIntegers, ddgRoundRdp, decodeDdgMean, epsilonOf, planDdg, RDP_ORDERS, type DdgPlan } from '@fedbit/core';
import { parseFlags, wholeNumber } from '../args';
import { table } from '../report';

const numberList = (min: number, max: number) =>
  z
    .string()
    .regex(/^\s*[\d.]+(\s*,\s*[\d.]+)*\s*$/, 'expected numbers separated by commas, e.g. 1,8')
    .transform((text) => text.split(',').map(Number))
    .pipe(z.array(z.number().min(min, `expected numbers from ${min}`).max(max, `expected numbers up to ${max}`)).min(1));

const flags =
  parseFlags(
    process.argv.slice(2),
    {
      params: { type: 'string', default: '75589', placeholder: 'd', description: 'values per update (default: the tiny model)' },
      devices: { type: 'string', default: '10', placeholder: 'n', description: 'devices in the round (all send; the noise is planned for all)' },
      bits: { type: 'string', default: '10,12,14,16,18,20', placeholder: 'list', description: 'mask bits m a value' },
      epsilon: { type: 'string', default: '1,8', placeholder: 'list', description: 'epsilon of the one round at delta 1e-5' },
      clip: { type: 'string', default: '2', placeholder: 'C', description: 'clip norm' },
      json: { type: 'boolean', description: 'end with one JSON line' },
    },
    z.object({ params: wholeNumber(2, 2_000_000), devices: wholeNumber(2, 1000), bits: numberList(4, 32), epsilon: numberList(0.01, 1000), clip: z.string().transform(Number).pipe(z.number().positive('expected a positive clip norm')), json: z.boolean() }),
    { usage: 'npm run bench:ddg-rotation --', summary: 'distributed discrete Gaussian: error of the mean at the same epsilon, with and without the rotation, over mask bits', examples: ['npm run bench:ddg-rotation', 'npm run bench:ddg-rotation -- --params 20000 --devices 50 --bits 12,16 --json'] },
  ) ?? process.exit(0);

const d = flags.params;
const n = flags.devices;
const C = flags.clip;
const DELTA = 1e-5;

/** Epsilon of one round of a plan, every device sending. */
const epsilonOfPlan = (plan: DdgPlan) => epsilonOf(ddgRoundRdp(1, { localSigma: plan.localSigma, delta2: plan.delta2, length: d, senders: n }), DELTA).epsilon;

/** The continuous Gaussian mechanism's noise multiplier for epsilon in one round (the ideal). */
function idealZ(target: number): number {
  let lo = 0.01;
  let hi = 1000;
  for (let i = 0; i < 100; i++) {
    const mid = Math.sqrt(lo * hi);
    const eps = epsilonOf(RDP_ORDERS.map((a) => a / (2 * mid * mid)), DELTA).epsilon;
    if (eps > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The plan at m bits whose one-round epsilon is the target (bisection on the noise multiplier), or why there is none. */
function planAt(target: number, bits: number, rotated: boolean): DdgPlan | string {
  const at = (zm: number): DdgPlan | string => {
    try {
      return planDdg({ clipNorm: C, noiseMultiplier: zm, length: d, maxSenders: n, minSenders: n, modulusBits: bits, ...(rotated ? { rotationSeed: 20_261_204 } : {}) });
    } catch (error) {
      return (error as Error).message;
    }
  };
  const top = at(1000);
  if (typeof top === 'string') return top;
  // More noise at a fixed m means a coarser gamma, and rounding's share of delta2 grows: epsilon has a floor.
  if (epsilonOfPlan(top) > target) return `epsilon ${target} is out of reach at ${bits} bits (at least ${epsilonOfPlan(top).toPrecision(3)})`;
  let lo = 1e-4;
  let hi = 1000;
  for (let i = 0; i < 80; i++) {
    const mid = Math.sqrt(lo * hi);
    const plan = at(mid);
    if (typeof plan !== 'string' && epsilonOfPlan(plan) <= target) hi = mid;
    else lo = mid;
  }
  return at(hi);
}

function updates(kind: 'dense' | 'spiky', seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  const shared = Float64Array.from({ length: d }, gauss);
  return Array.from({ length: n }, () => {
    const u = Float32Array.from(shared, (v) => v + gauss());
    if (kind === 'spiky') {
      // Half the norm in 8 coordinates, the same ones and the same sign for every device.
      const norm = Math.hypot(...u.subarray(0, Math.min(d, 65_536))) * Math.sqrt(d / Math.min(d, 65_536));
      for (let k = 0; k < Math.min(8, d); k++) u[(k * 9973) % d] = norm / Math.sqrt(8);
    }
    return u;
  });
}

function run(plan: DdgPlan, us: Float32Array[], idealMse: number, seed: number) {
  const rng = new Rng(seed);
  const uniform = () => ((rng.nextUint32() >>> 5) * 67108864 + (rng.nextUint32() >>> 6)) / 9007199254740992;
  const sum = new Float64Array(d);
  const truth = new Float64Array(d);
  for (const u of us) {
    const z = ddgIntegers(u, plan, uniform);
    for (let i = 0; i < d; i++) sum[i] += z[i];
    let sq = 0;
    for (let i = 0; i < d; i++) sq += u[i] * u[i];
    const f = Math.min(1, C / Math.sqrt(sq));
    for (let i = 0; i < d; i++) truth[i] += (u[i] * f) / n;
  }
  const wraps = countWraps(sum, plan.modulusBits);
  const modulus = 2 ** plan.modulusBits;
  const reduced = Float64Array.from(sum, (v) => ((v % modulus) + modulus) % modulus);
  const mean = decodeDdgMean(reduced, n, plan);
  let err = 0;
  let ref = 0;
  let worst = 0;
  for (let i = 0; i < d; i++) {
    err += (mean[i] - truth[i]) ** 2;
    ref += truth[i] ** 2;
    worst = Math.max(worst, Math.abs(mean[i] - truth[i]));
  }
  return { wraps, mseOverIdeal: err / d / idealMse, relL2: Math.sqrt(err / ref), maxErrorOverIdealSd: worst / Math.sqrt(idealMse) };
}

type Cell = { gamma: number; noiseMultiplier: number; wraps: number; mseOverIdeal: number; relL2: number; maxErrorOverIdealSd: number } | { unreachable: string };
const rows: Array<{ kind: string; epsilon: number; bits: number; rotation: Cell; worstCase: Cell; flatNoRotation: Cell }> = [];
const started = performance.now();
for (const kind of ['dense', 'spiky'] as const) {
  const us = updates(kind, kind === 'dense' ? 1 : 2);
  for (const epsilon of flags.epsilon) {
    const zStar = idealZ(epsilon);
    const idealMse = (zStar * C) ** 2 / n ** 2;
    for (const bits of flags.bits) {
      process.stderr.write(`${kind}, epsilon ${epsilon}, ${bits} bits...\n`);
      const cell = (plan: DdgPlan | string, seed: number): Cell => {
        if (typeof plan === 'string') return { unreachable: plan };
        const noiseMultiplier = (plan.localSigma * plan.gamma * Math.sqrt(n)) / C;
        return { gamma: plan.gamma, noiseMultiplier, ...run(plan, us, idealMse, seed) };
      };
      const rotatedPlan = planAt(epsilon, bits, true);
      const flatPlan = typeof rotatedPlan === 'string' ? rotatedPlan : { ...rotatedPlan, rotationSeed: undefined };
      rows.push({ kind, epsilon, bits, rotation: cell(rotatedPlan, bits), worstCase: cell(planAt(epsilon, bits, false), bits), flatNoRotation: cell(flatPlan, bits) });
    }
  }
}
const seconds = (performance.now() - started) / 1000;

const show = (c: Cell, what: 'mseOverIdeal' | 'maxErrorOverIdealSd') => ('unreachable' in c ? '-' : c[what] >= 100 ? c[what].toExponential(1) : c[what].toFixed(what === 'mseOverIdeal' ? 3 : 1));
const wraps = (c: Cell) => ('unreachable' in c ? '-' : String(c.wraps));
const defaults = { without: planDdg({ clipNorm: C, noiseMultiplier: 1, length: d, maxSenders: n, minSenders: n }).modulusBits, with: planDdg({ clipNorm: C, noiseMultiplier: 1, length: d, maxSenders: n, minSenders: n, rotationSeed: 1 }).modulusBits };
process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${n} devices of ${d} values, clip ${C}, one round, delta ${DELTA}; ${seconds.toFixed(0)} s\n`);
process.stdout.write(`without a budget (the run's default plan, z = 1): ${defaults.without} bits a value without the rotation, ${defaults.with} with it\n`);
process.stdout.write(
  table(
    ['updates', 'epsilon', 'bits m', 'MSE/ideal rotation', 'worst case', 'flat, no rot', 'wraps rotation', 'worst case', 'flat, no rot', 'max err/sd rotation', 'worst case', 'flat, no rot'],
    rows.map((r) => [r.kind, r.epsilon, r.bits, show(r.rotation, 'mseOverIdeal'), show(r.worstCase, 'mseOverIdeal'), show(r.flatNoRotation, 'mseOverIdeal'), wraps(r.rotation), wraps(r.worstCase), wraps(r.flatNoRotation), show(r.rotation, 'maxErrorOverIdealSd'), show(r.worstCase, 'maxErrorOverIdealSd'), show(r.flatNoRotation, 'maxErrorOverIdealSd')]),
  ) + '\n',
);
if (flags.json) process.stdout.write(JSON.stringify({ params: d, devices: n, clip: C, delta: DELTA, defaultBits: defaults, seconds: Math.round(seconds), rows }) + '\n');
