// On-demand precision (Lai et al., "On-demand Quantization for Green Federated Generative
// Diffusion in Mobile Edge Networks", ICC 2024, arXiv 2403.04430; the energy/precision trade-off
// after Kim, Saad et al., "Green, Quantized Federated Learning over Wireless Networks: An
// Energy-Efficient Design", arXiv 2111.07911). Per round the server solves
//
//   minimise   sum_k price_k * E_k(n_k)
//   subject to sum_k w_k^2 V_k(n_k) <= eps,   T_k(n_k) <= deadline,   n_k within device k's demand
//
// price_k turns a device's demand into a weight on its joules; the error bound keeps the
// aggregate's quantization noise small. Lagrangian relaxation makes it separable: for a given
// lambda each device takes argmin_n price_k E_k(n) + lambda w_k^2 V_k(n); lambda is bisected on a
// log scale to the smallest value whose plan meets the bound (the seed's KKT + binary search in
// discrete form). The discrete relaxation can leave a duality gap, so a local search (single and
// pairwise precision changes) then lowers the priced energy while the bound holds. Last, every
// fixed precision that meets the same bound and deadlines is a yardstick: the plan returned
// never has more modelled (unpriced) joules than the cheapest of them.
//
// Parameters (defaults):
//   errorBound 0.1       eps = errorBound / s_t * sum_k w_k^2 ||u_k||^2: the aggregate's quantization
//                        variance may be at most 10% of the weighted squared norm of the updates,
//                        widened by 1/s_t where s_t = eta_t / eta_0 is the round's learning-rate
//                        scale (roundErrorBound below: the descent lemma gives an admissible
//                        absolute error proportional to eta_t while ||u||^2 shrinks as eta_t^2, so
//                        the relative bound grows as 1/eta_t; Kim, Saad et al. tie the admissible
//                        quantization error to the learning rate in the same way). The level is
//                        set from measurement (docs/RESULTS.md, the paper preset): with the
//                        block scales the devices report, 4 bits puts 4-6% there on the tiny
//                        model, and fixed 4 bits drew as well as float32 over three seeds, so
//                        10% admits 4 bits in every round and lower precisions only as the
//                        learning rate decays (0.05 before 2026-11-22).
//   preferencePrice      save-battery 2, balanced 1, best-quality 0.5: a save-battery joule counts
//                        four times a best-quality one (must be non-increasing in that order).
//   lowBatteryPrice 4    extra multiplier when battery < ctx.lowBatteryThreshold and not charging
//                        (charging unknown counts as not charging)...
//   lowBatteryMaxBits 8  ...and a cap on such a device's precision.
//   chargingPrice 0.5    multiplier when the device reports it is charging: wall power is cheap.
// A device's own floor outranks the low-battery cap. Devices that cannot meet the deadline at any
// precision they may take get their fastest option. If even the highest precision within every
// cap misses the bound, that plan is returned and every reason says so.
import type { Bits } from '../bits';
import { clampBits, deviceCandidates, isLowBattery, optionOf } from './common';
import type { Assignment, DeviceDemand, PolicyContext, Preference, PrecisionPolicy } from './types';

export interface OnDemandParams {
  errorBound: number;
  preferencePrice: Record<Preference, number>;
  lowBatteryPrice: number;
  lowBatteryMaxBits: Bits;
  chargingPrice: number;
}

export const DEFAULT_ON_DEMAND_PARAMS: OnDemandParams = {
  errorBound: 0.1,
  preferencePrice: { 'save-battery': 2, balanced: 1, 'best-quality': 0.5 },
  lowBatteryPrice: 4,
  lowBatteryMaxBits: 8,
  chargingPrice: 0.5,
};

/** Pairwise moves cost O(moves^2) per local-search step; above this many single moves, only single moves are tried. */
const PAIR_MOVES_MAX = 400;
const MAX_BISECTIONS = 200;
const MAX_SEARCH_STEPS = 10_000;

interface Choice {
  bits: Bits;
  energyJ: number;
  /** w_k^2 V_k(n): this choice's share of the aggregate error. */
  weightedVariance: number;
}

/** One device as the solver sees it: the precisions it may take this round. */
interface Slot {
  device: DeviceDemand;
  price: number;
  /** Ascending bits; one element when the device is pinned (deadline unreachable). */
  choices: Choice[];
  notes: string[];
  pinned: boolean;
}

/** An index into each slot's choices. */
type Plan = number[];

export function onDemandPrice(device: DeviceDemand, ctx: PolicyContext, params: OnDemandParams): number {
  let price = params.preferencePrice[device.preference];
  if (isLowBattery(device, ctx)) price *= params.lowBatteryPrice;
  if (device.charging === true) price *= params.chargingPrice;
  return price;
}

function slotOf(device: DeviceDemand, ctx: PolicyContext, params: OnDemandParams): Slot {
  const candidates = deviceCandidates(device, ctx.allowedBits);
  const notes: string[] = candidates.note ? [candidates.note] : [];
  let bits = candidates.bits;
  if (isLowBattery(device, ctx)) {
    const capped = bits.filter((b) => b <= params.lowBatteryMaxBits);
    bits = capped.length > 0 ? capped : [bits[0]];
    notes.push(capped.length > 0 ? `low battery, capped at ${params.lowBatteryMaxBits} bits` : `low battery, but its floor is ${bits[0]} bits`);
  }
  const toChoice = (b: Bits): Choice => {
    const option = optionOf(device, b);
    return { bits: b, energyJ: option.energyJ, weightedVariance: device.weight * device.weight * option.variance };
  };
  const inTime = bits.filter((b) => optionOf(device, b).latencyS <= ctx.deadlineS);
  if (inTime.length > 0) return { device, price: onDemandPrice(device, ctx, params), choices: inTime.map(toChoice), notes, pinned: false };
  const fastest = bits.reduce((best, b) => (optionOf(device, b).latencyS < optionOf(device, best).latencyS ? b : best));
  notes.push(`cannot meet the ${ctx.deadlineS} s deadline at any precision it may take; fastest is ${fastest} bits (${optionOf(device, fastest).latencyS.toPrecision(3)} s)`);
  return { device, price: onDemandPrice(device, ctx, params), choices: [toChoice(fastest)], notes, pinned: true };
}

const errorOf = (slots: Slot[], plan: Plan) => slots.reduce((sum, s, i) => sum + s.choices[plan[i]].weightedVariance, 0);
const energyOf = (slots: Slot[], plan: Plan) => slots.reduce((sum, s, i) => sum + s.choices[plan[i]].energyJ, 0);
const pricedOf = (slots: Slot[], plan: Plan) => slots.reduce((sum, s, i) => sum + s.price * s.choices[plan[i]].energyJ, 0);

function argmin<T>(items: readonly T[], score: (item: T) => number): number {
  let best = 0;
  for (let i = 1; i < items.length; i++) if (score(items[i]) < score(items[best])) best = i;
  return best;
}

/** Each device's argmin of price*E + lambda*w^2*V; ties go to the lower precision. */
function lagrangianPlan(slots: Slot[], lambda: number): Plan {
  return slots.map((s) => argmin(s.choices, (c) => s.price * c.energyJ + lambda * c.weightedVariance));
}

/** Each device's least-variance choice (ties to the cheaper): the most precise plan within every cap. */
function mostPrecisePlan(slots: Slot[]): Plan {
  return slots.map((s) =>
    s.choices.reduce((best, c, i) => {
      const b = s.choices[best];
      return c.weightedVariance < b.weightedVariance || (c.weightedVariance === b.weightedVariance && c.energyJ < b.energyJ) ? i : best;
    }, 0),
  );
}

/** The lambdas at which some device's Lagrangian choice changes. */
function breakpoints(slots: Slot[]): number[] {
  const out: number[] = [];
  for (const s of slots) {
    for (const a of s.choices) {
      for (const b of s.choices) {
        const dv = a.weightedVariance - b.weightedVariance;
        const de = s.price * (b.energyJ - a.energyJ);
        if (dv > 0 && de > 0) out.push(de / dv);
      }
    }
  }
  return out;
}

/** Bisects log(lambda) to the smallest lambda whose plan meets the bound. Assumes the most precise plan does. */
function bisectLambda(slots: Slot[], meets: (err: number) => boolean): { plan: Plan; lambda: number } {
  const points = breakpoints(slots);
  if (points.length === 0) return { plan: lagrangianPlan(slots, 0), lambda: 0 };
  let lo = points.reduce((a, b) => Math.min(a, b)) / 2;
  let hi = points.reduce((a, b) => Math.max(a, b)) * 2;
  if (meets(errorOf(slots, lagrangianPlan(slots, lo)))) return { plan: lagrangianPlan(slots, lo), lambda: lo };
  for (let i = 0; i < MAX_BISECTIONS && hi / lo > 1 + 1e-12; i++) {
    const mid = Math.sqrt(lo * hi);
    if (meets(errorOf(slots, lagrangianPlan(slots, mid)))) hi = mid;
    else lo = mid;
  }
  return { plan: lagrangianPlan(slots, hi), lambda: hi };
}

interface Move {
  slot: number;
  to: number;
  err: number;
  energy: number;
  priced: number;
}

/**
 * Steepest-descent local search on the priced energy over single and pairwise precision changes,
 * keeping the error bound and a cap on the modelled (unpriced) energy.
 */
function improve(slots: Slot[], start: Plan, meets: (err: number) => boolean, energyCapJ: number): Plan {
  const plan = [...start];
  for (let step = 0; step < MAX_SEARCH_STEPS; step++) {
    const err = errorOf(slots, plan);
    const energy = energyOf(slots, plan);
    const moves: Move[] = [];
    slots.forEach((s, i) => {
      const from = s.choices[plan[i]];
      s.choices.forEach((to, c) => {
        if (c === plan[i]) return;
        const dE = to.energyJ - from.energyJ;
        moves.push({ slot: i, to: c, err: to.weightedVariance - from.weightedVariance, energy: dE, priced: s.price * dE });
      });
    });
    let best = null as Move[] | null; // assigned inside consider()
    let bestPriced = -1e-12 * pricedOf(slots, plan);
    const consider = (...ms: Move[]): void => {
      const priced = ms.reduce((a, m) => a + m.priced, 0);
      if (priced >= bestPriced) return;
      if (!meets(err + ms.reduce((a, m) => a + m.err, 0))) return;
      if (energy + ms.reduce((a, m) => a + m.energy, 0) > energyCapJ) return;
      best = ms;
      bestPriced = priced;
    };
    for (const m of moves) consider(m);
    if (moves.length <= PAIR_MOVES_MAX) {
      for (let a = 0; a < moves.length; a++) {
        for (let b = a + 1; b < moves.length; b++) if (moves[a].slot !== moves[b].slot) consider(moves[a], moves[b]);
      }
    }
    if (best === null) break;
    for (const m of best) plan[m.slot] = m.to;
  }
  return plan;
}

/** The plan where every device takes `bits`, clamped into what it may take (highest <= bits, else lowest). */
function fixedPlan(slots: Slot[], bits: Bits): Plan {
  return slots.map((s) => {
    const target = clampBits(bits, s.choices.map((c) => c.bits));
    return s.choices.findIndex((c) => c.bits === target);
  });
}

export interface OnDemandSolution {
  assignments: Map<string, Assignment>;
  feasible: boolean;
  /** eps: the bound on sum_k w_k^2 V_k(n_k). */
  errorBudget: number;
  /** sum_k w_k^2 V_k(n_k) of the returned plan. */
  error: number;
  /** Modelled joules of the returned plan, and of the cheapest fixed precision meeting the bound (null if none). */
  energyJ: number;
  fixedEnergyJ: number | null;
  fixedBits: Bits | null;
  lambda: number | null;
  /** Which candidate won: the Lagrangian plan improved by local search, or the fixed plan improved. */
  source: 'lagrangian' | 'fixed' | 'most-precise';
}

/**
 * The relative error bound of a round: errorBound / s_t, s_t = eta_t / eta_0 (the round's
 * learning-rate scale). With quantization error e unbiased, the descent lemma gives
 * E F(w + u + e) <= E F(w + u) + (L/2) E||e||^2, so keeping the noise term a fixed fraction of the
 * round's progress (about eta_t ||grad F||^2) admits E||e||^2 proportional to eta_t; the update's own
 * ||u||^2 scales as eta_t^2, so relative to ||u||^2 the admissible error scales as 1 / eta_t.
 */
export function roundErrorBound(errorBound: number, learningRateScale = 1): number {
  if (!(learningRateScale > 0 && learningRateScale <= 1e6)) throw new RangeError(`learningRateScale must be in (0, 1e6], got ${learningRateScale}`);
  return errorBound / learningRateScale;
}

export function solveOnDemand(params: OnDemandParams, devices: readonly DeviceDemand[], ctx: PolicyContext): OnDemandSolution {
  const slots = devices.map((d) => slotOf(d, ctx, params));
  const errorBudget = roundErrorBound(params.errorBound, ctx.learningRateScale) * devices.reduce((sum, d) => sum + d.weight * d.weight * d.updateNormSq, 0);
  // Relative slack for rounding in the sums; the bound is otherwise exact.
  const meets = (err: number) => err <= errorBudget * (1 + 1e-9);

  const precise = mostPrecisePlan(slots);
  if (!meets(errorOf(slots, precise))) {
    const best = errorOf(slots, precise);
    const why = `error bound infeasible (best reachable sum w^2 V = ${best.toPrecision(3)} > eps = ${errorBudget.toPrecision(3)}): highest precision within every cap and the deadline`;
    return finish(slots, precise, why, { errorBudget, feasible: false, fixedEnergyJ: null, fixedBits: null, lambda: null, source: 'most-precise' });
  }

  let fixed: { plan: Plan; energy: number; bits: Bits } | null = null;
  for (const bits of [...new Set(ctx.allowedBits)].sort((a, b) => a - b)) {
    const plan = fixedPlan(slots, bits);
    const energy = energyOf(slots, plan);
    if (meets(errorOf(slots, plan)) && (!fixed || energy < fixed.energy)) fixed = { plan, energy, bits };
  }
  // The most precise plan meets the bound, so a cap is always defined; the fixed plans tighten it.
  const energyCapJ = Math.min(fixed?.energy ?? Infinity, energyOf(slots, precise)) * (1 + 1e-12);

  const { plan: lagrangian, lambda } = bisectLambda(slots, meets);
  const starts: { plan: Plan; source: OnDemandSolution['source'] }[] = [];
  if (energyOf(slots, lagrangian) <= energyCapJ) starts.push({ plan: lagrangian, source: 'lagrangian' });
  if (fixed) starts.push({ plan: fixed.plan, source: 'fixed' });
  if (starts.length === 0) starts.push({ plan: precise, source: 'most-precise' });
  const results = starts.map((s) => ({ plan: improve(slots, s.plan, meets, energyCapJ), source: s.source }));
  const winner = results.reduce((a, b) => {
    const pa = pricedOf(slots, a.plan);
    const pb = pricedOf(slots, b.plan);
    return pb < pa || (pb === pa && energyOf(slots, b.plan) < energyOf(slots, a.plan)) ? b : a;
  });
  const why = whyOf(winner.source, lambda, fixed?.bits ?? null);
  return finish(slots, winner.plan, why, {
    errorBudget,
    feasible: true,
    fixedEnergyJ: fixed?.energy ?? null,
    fixedBits: fixed?.bits ?? null,
    lambda,
    source: winner.source,
  });
}

function whyOf(source: OnDemandSolution['source'], lambda: number, fixedBits: Bits | null): string {
  switch (source) {
    case 'lagrangian':
      return `lambda ${lambda.toPrecision(3)}`;
    case 'fixed':
      return `improved from fixed ${fixedBits} bits, the cheapest fixed plan meeting the bound`;
    case 'most-precise':
      return 'improved from the most precise plan';
    default: {
      const never: never = source;
      return never;
    }
  }
}

function finish(
  slots: Slot[],
  plan: Plan,
  why: string,
  rest: Omit<OnDemandSolution, 'assignments' | 'error' | 'energyJ'>,
): OnDemandSolution {
  const assignments = new Map<string, Assignment>();
  const error = errorOf(slots, plan);
  slots.forEach((s, i) => {
    const bits = s.choices[plan[i]].bits;
    const option = optionOf(s.device, bits);
    const head = rest.feasible
      ? `on-demand: ${bits} bits, the least priced energy within the error bound (price ${Number(s.price.toPrecision(3))}, ${s.device.preference}; ${why})`
      : `on-demand: ${bits} bits; ${why}`;
    const reason = [head, ...s.notes].join('; ');
    assignments.set(s.device.id, { bits, reason, energyJ: option.energyJ, latencyS: option.latencyS, variance: option.variance });
  });
  return { assignments, error, energyJ: energyOf(slots, plan), ...rest };
}

export function onDemandPolicy(params: OnDemandParams = DEFAULT_ON_DEMAND_PARAMS): PrecisionPolicy {
  return {
    name: 'on-demand',
    describe: () => ({ kind: 'on-demand', ...params }),
    assign: (devices, ctx) => solveOnDemand(params, devices, ctx).assignments,
  };
}
