import { describe, expect, it } from 'vitest';
import { makeSchedule } from './schedule';
import { samplingTimesteps } from './sampler';

describe('noise schedules', () => {
  for (const kind of ['linear', 'cosine'] as const) {
    for (const steps of [50, 1000]) {
      it(`${kind} with T=${steps}: shapes, alpha_bar strictly decreasing in (0,1), noisy at T`, () => {
        const s = makeSchedule({ kind, steps });
        expect(s.betas.length).toBe(steps);
        expect(s.alphaBars.length).toBe(steps);
        for (let t = 0; t < steps; t++) {
          expect(s.betas[t]).toBeGreaterThan(0);
          expect(s.betas[t]).toBeLessThan(1);
          expect(s.alphaBars[t]).toBeGreaterThan(0);
          expect(s.alphaBars[t]).toBeLessThan(1);
          if (t > 0) expect(s.alphaBars[t]).toBeLessThan(s.alphaBars[t - 1]);
        }
        expect(s.alphaBars[0]).toBeGreaterThan(0.99);
        expect(s.alphaBars[steps - 1]).toBeLessThan(0.01);
      });
    }
  }

  it('linear at T=1000 is exactly DDPM: beta_1 = 1e-4, beta_T = 0.02', () => {
    const s = makeSchedule({ kind: 'linear', steps: 1000 });
    expect(s.betas[0]).toBeCloseTo(1e-4, 12);
    expect(s.betas[999]).toBeCloseTo(0.02, 12);
  });

  it('cosine keeps more signal than linear in the middle (Nichol & Dhariwal fig. 5)', () => {
    const lin = makeSchedule({ kind: 'linear', steps: 1000 });
    const cos = makeSchedule({ kind: 'cosine', steps: 1000 });
    expect(cos.alphaBars[500]).toBeGreaterThan(lin.alphaBars[500]);
    // alphaBars[t] is alpha_bar after step t+1, i.e. f(t+1)/f(0)
    expect(cos.alphaBars[499]).toBeCloseTo(Math.cos(((0.5 + 0.008) / 1.008) * (Math.PI / 2)) ** 2 / Math.cos((0.008 / 1.008) * (Math.PI / 2)) ** 2, 6);
  });

  it('rejects bad specs with a clear message', () => {
    expect(() => makeSchedule({ kind: 'linear', steps: 1 })).toThrow(/steps/);
    expect(() => makeSchedule({ kind: 'quadratic' as never, steps: 10 })).toThrow(/unknown schedule kind/);
  });

  it('sampling timesteps are increasing, start at 0 and end at T-1', () => {
    const taus = samplingTimesteps(1000, 20);
    expect(taus.length).toBe(20);
    expect(taus[0]).toBe(0);
    expect(taus[19]).toBe(999);
    for (let i = 1; i < taus.length; i++) expect(taus[i]).toBeGreaterThan(taus[i - 1]);
    expect(samplingTimesteps(10, 50).length).toBe(10);
  });
});
