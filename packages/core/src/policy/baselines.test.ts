import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { ALL_BITS, type Bits } from '../bits';
import { adaQuantFLPolicy, adaQuantLevels, DEFAULT_ADAQUANTFL_PARAMS } from './adaquantfl';
import { levelsToBits } from './common';
import { dadaQuantClientLevels, dadaQuantLevels, dadaQuantPolicy, DEFAULT_DADAQUANT_PARAMS } from './dadaquant';
import { fixedPolicy } from './fixed';
import { createPolicy, PolicySpecSchema } from './spec';
import { demandOf, randomContext, randomProfiles } from './test-fixtures';
import type { PolicyContext } from './types';

const ctx = (lossHistory: number[] = []): PolicyContext => ({ ...randomContext(1), lossHistory });

describe('fixed policy', () => {
  it('gives every device the fixed bits, whatever its battery or preference', () => {
    const devices = randomProfiles(11, 10).map((p, i) => demandOf({ ...p, battery: i % 2 ? 0.05 : 0.9, charging: false }));
    for (const bits of ALL_BITS) {
      const plan = fixedPolicy({ bits }).assign(devices, ctx());
      for (const d of devices) {
        expect(plan.get(d.id)!.bits).toBe(bits);
        expect(plan.get(d.id)!.energyJ).toBe(d.options[bits]!.energyJ);
      }
    }
  });

  it("takes the highest bits <= the fixed value a device's cap or the allowed set permits, and says so", () => {
    const [p, q] = randomProfiles(12, 2);
    const devices = [demandOf({ ...p, maxBits: 4 }), demandOf({ ...q, minBits: 16 })];
    const plan = fixedPolicy({ bits: 8 }).assign(devices, ctx());
    expect(plan.get(p.id)!.bits).toBe(4);
    expect(plan.get(p.id)!.reason).toMatch(/clamped to 4/);
    expect(plan.get(q.id)!.bits).toBe(16);
    const only = fixedPolicy({ bits: 8 }).assign([demandOf(p)], { ...ctx(), allowedBits: [1, 2, 16, 32] });
    expect(only.get(p.id)!.bits).toBe(2);
  });
});

describe('AdaQuantFL', () => {
  it('maps levels to the smallest allowed bits with 2^bits - 1 >= s', () => {
    expect(levelsToBits(1, ALL_BITS)).toBe(1);
    expect(levelsToBits(3, ALL_BITS)).toBe(2);
    expect(levelsToBits(3.01, ALL_BITS)).toBe(4);
    expect(levelsToBits(255, ALL_BITS)).toBe(8);
    expect(levelsToBits(256, ALL_BITS)).toBe(16);
    expect(levelsToBits(1e6, ALL_BITS)).toBe(32);
    expect(levelsToBits(100, [1, 2, 4])).toBe(4);
  });

  it('uses s0 with no history and s0 sqrt(F0/Fk) after', () => {
    expect(adaQuantLevels(DEFAULT_ADAQUANTFL_PARAMS, [])).toBe(3);
    expect(adaQuantLevels({ initialLevels: 3 }, [1, 0.5, 0.25])).toBeCloseTo(6, 12);
  });

  it('never lowers the bits while the loss falls, and raises them', () => {
    const devices = randomProfiles(13, 10).map(demandOf);
    const policy = adaQuantFLPolicy();
    const history: number[] = [];
    const seen: Bits[] = [];
    for (let round = 0; round < 40; round++) {
      const plan = policy.assign(devices, ctx(history));
      const bits = new Set(devices.map((d) => plan.get(d.id)!.bits));
      expect(bits.size).toBe(1);
      seen.push([...bits][0]);
      history.push(2 * 0.8 ** round);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    expect(seen[seen.length - 1]).toBeGreaterThan(seen[0]);
  });
});

describe('DAdaQuant', () => {
  it('doubles q when the loss plateaus and not while it falls steadily', () => {
    const falling = Array.from({ length: 30 }, (_, t) => 3 * 0.9 ** t);
    expect(dadaQuantLevels(DEFAULT_DADAQUANT_PARAMS, falling)).toBe(1);
    const plateau = [...falling, ...Array.from({ length: 40 }, () => falling[falling.length - 1])];
    const qs = plateau.map((_, t) => dadaQuantLevels(DEFAULT_DADAQUANT_PARAMS, plateau.slice(0, t + 1)));
    for (let t = 1; t < qs.length; t++) expect(qs[t]).toBeGreaterThanOrEqual(qs[t - 1]);
    expect(qs[qs.length - 1]).toBeGreaterThanOrEqual(8);
    expect(dadaQuantLevels({ ...DEFAULT_DADAQUANT_PARAMS, maxLevels: 4 }, plateau)).toBe(4);
  });

  it('scales levels by w^(2/3) with their mean equal to q', () => {
    const levels = dadaQuantClientLevels(8, [0.1, 0.2, 0.7]);
    expect(levels.reduce((a, b) => a + b, 0) / 3).toBeCloseTo(8, 12);
    expect(levels[2] / levels[0]).toBeCloseTo(7 ** (2 / 3), 12);
    expect(dadaQuantClientLevels(4, [0.5, 0.5])).toEqual([4, 4]);
  });

  it('gives more bits to devices with larger weights, and more bits over time on a plateau', () => {
    const devices = randomProfiles(14, 10).map(demandOf);
    const policy = dadaQuantPolicy();
    const plateau = Array.from({ length: 25 }, () => 1);
    const early = policy.assign(devices, ctx(plateau.slice(0, 1)));
    const late = policy.assign(devices, ctx(plateau));
    const byWeight = [...devices].sort((a, b) => a.weight - b.weight);
    for (const plan of [early, late]) {
      for (let i = 1; i < byWeight.length; i++) expect(plan.get(byWeight[i].id)!.bits).toBeGreaterThanOrEqual(plan.get(byWeight[i - 1].id)!.bits);
      expect(plan.get(byWeight[byWeight.length - 1].id)!.bits).toBeGreaterThan(plan.get(byWeight[0].id)!.bits);
    }
    for (const d of devices) expect(late.get(d.id)!.bits).toBeGreaterThanOrEqual(early.get(d.id)!.bits);
    expect(devices.some((d) => late.get(d.id)!.bits > early.get(d.id)!.bits)).toBe(true);
  });
});

describe('createPolicy', () => {
  it('fills every default and builds the named policy', () => {
    const onDemand = createPolicy({ kind: 'on-demand' });
    expect(onDemand.name).toBe('on-demand');
    expect(onDemand.describe()).toMatchObject({ errorBound: 0.1, lowBatteryMaxBits: 8, preferencePrice: { 'save-battery': 2, balanced: 1, 'best-quality': 0.5 } });
    expect(createPolicy({ kind: 'fixed' }).describe()).toEqual({ kind: 'fixed', bits: 32 });
    expect(createPolicy({ kind: 'adaquantfl', initialLevels: 7 }).describe()).toEqual({ kind: 'adaquantfl', initialLevels: 7 });
    expect(createPolicy({ kind: 'dadaquant' }).describe()).toEqual({ kind: 'dadaquant', ...DEFAULT_DADAQUANT_PARAMS });
  });

  it.each([
    [{ kind: 'fixed', bits: 3 }, 'bits'],
    [{ kind: 'on-demand', errorBound: -1 }, 'errorBound'],
    [{ kind: 'on-demand', preferencePrice: { 'save-battery': 0.1 } }, 'preferencePrice'],
    [{ kind: 'on-demand', lowBatteryMaxBits: 5 }, 'lowBatteryMaxBits'],
    [{ kind: 'on-demand', errorbound: 0.1 }, ''],
    [{ kind: 'dadaquant', patience: 0.5 }, 'patience'],
    [{ kind: 'dadaquant', initialLevels: 8, maxLevels: 4 }, 'maxLevels'],
    [{ kind: 'qsgd' }, 'kind'],
  ])('rejects %j with a zod error naming %s', (spec, field) => {
    const result = PolicySpecSchema.safeParse(spec);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0];
    expect(issue.path.join('.')).toBe(field);
    if (field === '') expect(issue.message).toMatch(/errorbound/);
    expect(() => createPolicy(spec as never)).toThrow(ZodError);
  });
});
