import { describe, expect, it } from 'vitest';
import { ALL_BITS, type Bits } from '../bits';
import { isLowBattery } from './common';
import { DEFAULT_ON_DEMAND_PARAMS, onDemandPolicy, onDemandPrice, roundErrorBound, solveOnDemand, type OnDemandParams } from './on-demand';
import { demandOf, randomContext, randomErrorBound, randomProfiles, rng } from './test-fixtures';
import type { DeviceDemand, PolicyContext } from './types';

const SEEDS = Array.from({ length: 60 }, (_, i) => i + 1);

function instance(seed: number, caps = true) {
  const devices = randomProfiles(seed, 10, { caps }).map(demandOf);
  const ctx = randomContext(seed);
  const params: OnDemandParams = { ...DEFAULT_ON_DEMAND_PARAMS, errorBound: randomErrorBound(seed) };
  const eps = params.errorBound * devices.reduce((s, d) => s + d.weight ** 2 * d.updateNormSq, 0);
  return { devices, ctx, params, eps };
}

/** What a device may take, computed independently of the solver: floor/cap, low-battery cap, deadline. */
function permitted(d: DeviceDemand, ctx: PolicyContext, params: OnDemandParams): { bits: Bits[]; pinned: boolean } {
  let bits = ALL_BITS.filter((b) => b >= (d.minBits ?? 0) && b <= (d.maxBits ?? 32));
  if (isLowBattery(d, ctx)) bits = bits.filter((b) => b <= params.lowBatteryMaxBits);
  const inTime = bits.filter((b) => d.options[b]!.latencyS <= ctx.deadlineS);
  if (inTime.length > 0) return { bits: inTime, pinned: false };
  return { bits: [bits.reduce((a, b) => (d.options[b]!.latencyS < d.options[a]!.latencyS ? b : a))], pinned: true };
}

const errorOf = (devices: DeviceDemand[], bitsOf: (d: DeviceDemand) => Bits) =>
  devices.reduce((s, d) => s + d.weight ** 2 * d.options[bitsOf(d)]!.variance, 0);

describe('on-demand policy', () => {
  it('meets the error bound whenever a feasible plan exists, within every cap, floor and deadline', () => {
    let feasible = 0;
    for (const seed of SEEDS) {
      const { devices, ctx, params, eps } = instance(seed);
      const plan = onDemandPolicy(params).assign(devices, ctx);
      const allowed = devices.map((d) => permitted(d, ctx, params));
      // The most precise permitted plan is the least error any plan can have.
      const least = devices.reduce((s, d, i) => s + d.weight ** 2 * Math.min(...allowed[i].bits.map((b) => d.options[b]!.variance)), 0);
      devices.forEach((d, i) => {
        const a = plan.get(d.id)!;
        expect(allowed[i].bits, `seed ${seed} device ${d.id}`).toContain(a.bits);
        expect(a.energyJ).toBe(d.options[a.bits]!.energyJ);
        if (!allowed[i].pinned) expect(a.latencyS).toBeLessThanOrEqual(ctx.deadlineS);
        else expect(a.reason).toMatch(/deadline/);
      });
      if (least <= eps) {
        feasible++;
        expect(errorOf(devices, (d) => plan.get(d.id)!.bits), `seed ${seed}`).toBeLessThanOrEqual(eps * (1 + 1e-9));
      }
    }
    expect(feasible).toBeGreaterThan(SEEDS.length / 2);
  });

  it('widens the bound as the learning rate decays, so a later round never takes more bits', () => {
    expect(roundErrorBound(0.05)).toBe(0.05);
    expect(roundErrorBound(0.05, 0.1)).toBeCloseTo(0.5, 12);
    expect(() => roundErrorBound(0.05, 0)).toThrow(RangeError);
    let fewer = 0;
    for (const seed of SEEDS) {
      const { devices, ctx, params } = instance(seed);
      const early = solveOnDemand(params, devices, { ...ctx, learningRateScale: 1 });
      const late = solveOnDemand(params, devices, { ...ctx, learningRateScale: 0.1 });
      expect(late.errorBudget).toBeCloseTo(early.errorBudget * 10, 9);
      const bits = (sol: typeof early) => devices.reduce((sum, d) => sum + sol.assignments.get(d.id)!.bits, 0);
      expect(bits(late), `seed ${seed}`).toBeLessThanOrEqual(bits(early));
      if (bits(late) < bits(early)) fewer++;
    }
    expect(fewer).toBeGreaterThan(0);
  });

  it('never spends more modelled energy than the cheapest fixed precision meeting the same bound, and often less', () => {
    let compared = 0;
    let cheaper = 0;
    for (const seed of SEEDS) {
      const { devices, ctx, params, eps } = instance(seed, false);
      const plan = onDemandPolicy(params).assign(devices, ctx);
      const energy = devices.reduce((s, d) => s + plan.get(d.id)!.energyJ, 0);
      const allowed = devices.map((d) => permitted(d, ctx, params).bits);
      for (const bits of ALL_BITS) {
        if (!allowed.every((a) => a.includes(bits))) continue;
        if (errorOf(devices, () => bits) > eps) continue;
        compared++;
        const fixedEnergy = devices.reduce((s, d) => s + d.options[bits]!.energyJ, 0);
        expect(energy, `seed ${seed}, fixed ${bits} bits`).toBeLessThanOrEqual(fixedEnergy * (1 + 1e-9));
        if (energy < 0.95 * fixedEnergy) cheaper++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    expect(cheaper / compared).toBeGreaterThan(0.5);
  });

  it('finds the priced optimum of small instances (brute force) to within 1%', () => {
    for (const seed of SEEDS.slice(0, 30)) {
      const devices = randomProfiles(seed, 5).map(demandOf);
      const ctx = randomContext(seed);
      const params = { ...DEFAULT_ON_DEMAND_PARAMS, errorBound: randomErrorBound(seed) };
      const solution = solveOnDemand(params, devices, ctx);
      if (!solution.feasible) continue;
      const prices = devices.map((d) => onDemandPrice(d, ctx, params));
      const allowed = devices.map((d) => permitted(d, ctx, params).bits);
      let best = Infinity;
      const search = (i: number, err: number, energy: number, priced: number): void => {
        if (i === devices.length) {
          if (err <= solution.errorBudget * (1 + 1e-9) && energy <= (solution.fixedEnergyJ ?? Infinity) * (1 + 1e-9)) best = Math.min(best, priced);
          return;
        }
        for (const b of allowed[i]) {
          const o = devices[i].options[b]!;
          search(i + 1, err + devices[i].weight ** 2 * o.variance, energy + o.energyJ, priced + prices[i] * o.energyJ);
        }
      };
      search(0, 0, 0, 0);
      const mine = devices.reduce((s, d, i) => s + prices[i] * solution.assignments.get(d.id)!.energyJ, 0);
      expect(mine, `seed ${seed}`).toBeLessThanOrEqual(best * 1.01);
    }
  });

  it('gives a device on low battery and not charging no more bits than the same device charging', () => {
    let lower = 0;
    for (const seed of SEEDS.slice(0, 25)) {
      const { devices, ctx, params } = instance(seed);
      const k = Math.floor(rng(seed)() * devices.length);
      const variant = (battery: number, charging: boolean) => devices.map((d, i) => (i === k ? { ...d, battery, charging } : d));
      const bitsOf = (ds: DeviceDemand[]) => onDemandPolicy(params).assign(ds, ctx).get(devices[k].id)!.bits;
      const low = bitsOf(variant(0.1, false));
      const charging = bitsOf(variant(0.1, true));
      expect(low, `seed ${seed}`).toBeLessThanOrEqual(charging);
      expect(low).toBeLessThanOrEqual(params.lowBatteryMaxBits);
      if (low < charging) lower++;
    }
    expect(lower).toBeGreaterThan(0);
  });

  it('gives save-battery no more bits than best-quality, all else equal', () => {
    let lower = 0;
    for (const seed of SEEDS.slice(0, 25)) {
      const { devices, ctx, params } = instance(seed);
      const k = Math.floor(rng(seed + 99)() * devices.length);
      const variant = (preference: DeviceDemand['preference']) => devices.map((d, i) => (i === k ? { ...d, preference } : d));
      const bitsOf = (ds: DeviceDemand[]) => onDemandPolicy(params).assign(ds, ctx).get(devices[k].id)!.bits;
      const save = bitsOf(variant('save-battery'));
      const quality = bitsOf(variant('best-quality'));
      expect(save, `seed ${seed}`).toBeLessThanOrEqual(quality);
      if (save < quality) lower++;
    }
    expect(lower).toBeGreaterThan(0);
  });

  it('returns the highest precision within every cap when no plan meets the bound, and says so', () => {
    const devices = randomProfiles(3, 10).map((p) => demandOf({ ...p, maxBits: 2, battery: 0.9, charging: true }));
    const ctx = { ...randomContext(3), deadlineS: 1e6 };
    const solution = solveOnDemand({ ...DEFAULT_ON_DEMAND_PARAMS, errorBound: 0.05 }, devices, ctx);
    expect(solution.feasible).toBe(false);
    expect(solution.error).toBeGreaterThan(solution.errorBudget);
    for (const d of devices) {
      const a = solution.assignments.get(d.id)!;
      expect(a.bits).toBe(2);
      expect(a.reason).toMatch(/infeasible/);
    }
  });

  it('gives a device that cannot meet the deadline its fastest option', () => {
    const profiles = randomProfiles(5, 10);
    profiles[0] = { ...profiles[0], uplinkBps: 1e3, battery: 0.9, charging: false, deviceClass: 'phone', macs: 1e9 };
    const devices = profiles.map(demandOf);
    const ctx = { ...randomContext(5), deadlineS: 30 };
    const slow = devices[0];
    expect(ALL_BITS.every((b) => slow.options[b]!.latencyS > ctx.deadlineS)).toBe(true);
    const a = onDemandPolicy({ ...DEFAULT_ON_DEMAND_PARAMS, errorBound: 1 }).assign(devices, ctx).get(slow.id)!;
    expect(a.bits).toBe(1);
    expect(a.latencyS).toBe(Math.min(...ALL_BITS.map((b) => slow.options[b]!.latencyS)));
    expect(a.reason).toMatch(/deadline/);
  });

  it('lets a device floor outrank the low-battery cap, and only assigns precisions the caller offered', () => {
    const [p, q] = randomProfiles(8, 2);
    const floored = demandOf({ ...p, minBits: 16, battery: 0.05, charging: false });
    const partial = { ...demandOf(q), options: { 4: demandOf(q).options[4], 8: demandOf(q).options[8] } };
    const ctx = { ...randomContext(8), deadlineS: 1e6 };
    const plan = onDemandPolicy({ ...DEFAULT_ON_DEMAND_PARAMS, errorBound: 1e-9 }).assign([floored, partial], ctx);
    expect(plan.get(floored.id)!.bits).toBe(16);
    expect(plan.get(floored.id)!.reason).toMatch(/floor/);
    expect([4, 8]).toContain(plan.get(partial.id)!.bits);
    expect(() => onDemandPolicy().assign([{ ...floored, options: {} }], ctx)).toThrow(/no option at any allowed precision/);
  });
});
