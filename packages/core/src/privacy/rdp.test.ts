import { describe, expect, it } from 'vitest';
import { RDP_ORDERS, composeRdp, epsilonOf, roundRdp, sampledGaussianRdp } from './rdp';

describe('RDP accountant of the sampled Gaussian mechanism', () => {
  it('without sampling it is the Gaussian mechanism: alpha / (2 sigma^2)', () => {
    expect(sampledGaussianRdp(1, 2, 5)).toBeCloseTo(5 / 8, 12);
  });

  it('at order 2 it matches the closed form log(1 + q^2 (e^(1/sigma^2) - 1))', () => {
    for (const [q, sigma] of [[0.1, 1], [0.01, 0.7], [0.5, 3]]) {
      expect(sampledGaussianRdp(q, sigma, 2)).toBeCloseTo(Math.log(1 + q * q * (Math.exp(1 / (sigma * sigma)) - 1)), 10);
    }
  });

  it('sampling amplifies privacy, more noise helps, and rounds add up', () => {
    expect(sampledGaussianRdp(0.1, 1, 8)).toBeLessThan(sampledGaussianRdp(1, 1, 8));
    expect(sampledGaussianRdp(0.1, 2, 8)).toBeLessThan(sampledGaussianRdp(0.1, 1, 8));
    const total: number[] = [];
    composeRdp(total, roundRdp(0.2, 1.1));
    const one = epsilonOf(total, 1e-5).epsilon;
    composeRdp(total, roundRdp(0.2, 1.1));
    expect(epsilonOf(total, 1e-5).epsilon).toBeGreaterThan(one);
    expect(total).toHaveLength(RDP_ORDERS.length);
  });

  it('converts to (epsilon, delta) by the best order: sigma 1, one full round, delta 1e-5 gives 3 + ln(1e5)/5', () => {
    const { epsilon, order } = epsilonOf(roundRdp(1, 1), 1e-5);
    expect(order).toBe(6);
    expect(epsilon).toBeCloseTo(3 + Math.log(1e5) / 5, 10);
  });

  it('stays finite where the terms overflow a double (small sigma, large order)', () => {
    expect(Number.isFinite(sampledGaussianRdp(0.5, 0.3, 512))).toBe(true);
    expect(() => sampledGaussianRdp(1.5, 1, 2)).toThrow(/sampling rate/);
  });
});
