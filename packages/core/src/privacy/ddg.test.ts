import { describe, expect, it } from 'vitest';
import { Rng } from '../random/xoshiro';
import { countWraps, ddgIntegers, ddgSumBound, decodeDdgMean, encodeDdg, planDdg, roundedNormBound, signedSum } from './ddg';
import { ddgRdp, ddgRoundRdp, ddgTau, poissonSubsampledRdp } from './ddg-rdp';
import { cryptoUniform, sampleDiscreteGaussian } from './discrete-gaussian';
import { RDP_ORDERS, epsilonOf, sampledGaussianRdp } from './rdp';

/** A seeded source with 53 random bits a draw. */
function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => ((rng.nextUint32() >>> 5) * 67108864 + (rng.nextUint32() >>> 6)) / 9007199254740992;
}

/** The exact variance of N_Z(0, sigma^2), summed over its support. */
function discreteGaussianVariance(sigma: number): number {
  let num = 0;
  let den = 0;
  for (let x = -Math.ceil(40 * sigma + 10); x <= 40 * sigma + 10; x++) {
    const w = Math.exp(-(x * x) / (2 * sigma * sigma));
    num += x * x * w;
    den += w;
  }
  return num / den;
}

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = s / values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - mean) ** 2;
  return { mean, variance: v / (values.length - 1) };
}

describe('the discrete Gaussian sampler (Canonne, Kamath, Steinke)', () => {
  it('draws integers with the distribution\'s mean 0 and exact variance (seeded; 40,000 draws each, 6% tolerance)', () => {
    for (const sigma of [0.7, 3, 40]) {
      const uniform = seeded(Math.round(sigma * 10));
      const draws = Array.from({ length: 40_000 }, () => sampleDiscreteGaussian(sigma, uniform));
      expect(draws.every(Number.isInteger)).toBe(true);
      const { mean, variance } = moments(draws);
      const exact = discreteGaussianVariance(sigma);
      expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(exact / draws.length));
      expect(variance / exact).toBeGreaterThan(0.94);
      expect(variance / exact).toBeLessThan(1.06);
    }
    // Small sigma: visibly below sigma^2 (the lattice), and the sampler follows the lattice, not sigma^2.
    expect(discreteGaussianVariance(0.3)).toBeLessThan(0.3 * 0.3 * 0.5);
  });

  it('the pmf matches exp(-x^2 / 2 sigma^2) normalised (chi-square over |x| <= 4 at sigma 1.5)', () => {
    const sigma = 1.5;
    const uniform = seeded(7);
    const n = 60_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const x = sampleDiscreteGaussian(sigma, uniform);
      const key = Math.max(-5, Math.min(5, x)); // tails pooled at +-5
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let z = 0;
    for (let x = -60; x <= 60; x++) z += Math.exp(-(x * x) / (2 * sigma * sigma));
    const p = (x: number) => Math.exp(-(x * x) / (2 * sigma * sigma)) / z;
    let tail = 0;
    for (let x = 5; x <= 60; x++) tail += p(x);
    let chi2 = 0;
    for (let x = -5; x <= 5; x++) {
      const expected = n * (Math.abs(x) === 5 ? tail : p(x));
      chi2 += ((counts.get(x) ?? 0) - expected) ** 2 / expected;
    }
    // 10 degrees of freedom: 35 is far beyond the 0.9999 quantile (33.7 is 0.9998).
    expect(chi2).toBeLessThan(35);
  });

  it('the cryptographic source gives uniform doubles in [0, 1)', () => {
    const u = cryptoUniform();
    const draws = Array.from({ length: 20_000 }, u);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(moments(draws).mean - 0.5)).toBeLessThan(0.02);
  });
});

describe('the distributed discrete Gaussian mechanism (Kairouz, Liu, Steinke)', () => {
  const d = 4096;
  const input = { clipNorm: 1, noiseMultiplier: 0.5, length: d, maxSenders: 10, minSenders: 7 };

  it('plans gamma, the per-device noise and a modulus that holds the sum', () => {
    const plan = planDdg(input);
    expect(plan.gamma).toBeCloseTo(1 / (4 * 64), 12); // C / (4 sqrt d) < z C / (2 sqrt 7)
    expect(plan.localSigma).toBeCloseTo(0.5 / Math.sqrt(7) / plan.gamma, 9);
    expect(plan.delta2).toBeCloseTo(roundedNormBound(256, d), 9);
    expect(plan.delta2 / 256).toBeLessThan(1.02);
    // 10 x floor(delta2) = 2,580, plus the tail of 10 devices' noise, sqrt(10) x 48.4 x 7.7 = 1,180: 3,760 steps either side, 13 bits.
    expect(plan.modulusBits).toBe(13);
    // Little noise: gamma shrinks so each device's integer noise stays at least 2.
    expect(planDdg({ ...input, noiseMultiplier: 0.001 }).localSigma).toBeCloseTo(2, 9);
  });

  it('refuses a round whose sum cannot fit 32-bit masks, saying what to lower', () => {
    expect(() => planDdg({ ...input, noiseMultiplier: 1e7, maxSenders: 1000, minSenders: 700 })).toThrow(/needs 3[3-9]-bit masks.*at most 32.*lower devicesPerRound or noiseMultiplier/);
    expect(() => planDdg({ ...input, minSenders: 11 })).toThrow(/minSenders/);
  });

  it('a device\'s noise is integer-valued with variance localSigma^2 (zero update, seeded, 5% tolerance)', () => {
    const plan = planDdg(input);
    const sent = encodeDdg(new Float32Array(d), plan, seeded(3));
    expect(sent.every((v) => Number.isInteger(v) && v < 2 ** plan.modulusBits)).toBe(true);
    const noise = signedSum(sent, plan.modulusBits);
    const { mean, variance } = moments(noise);
    expect(Math.abs(mean)).toBeLessThan(5 * plan.localSigma / Math.sqrt(d));
    expect(variance / plan.localSigma ** 2).toBeGreaterThan(0.95);
    expect(variance / plan.localSigma ** 2).toBeLessThan(1.05);
  });

  for (const rotationSeed of [undefined, 12345]) {
    it(`clips, rounds within delta2, and the decoded sum of 7 devices is the clipped mean plus noise of sd z C / 7 (${rotationSeed === undefined ? 'no rotation' : 'with the rotation'})`, () => {
      const plan = planDdg({ ...input, ...(rotationSeed !== undefined ? { rotationSeed } : {}) });
      expect(plan.rotationSeed).toBe(rotationSeed);
      const uniform = seeded(11);
      const updates = Array.from({ length: 7 }, (_, k) => Float32Array.from({ length: d }, (_, i) => Math.sin(i * (k + 1) * 0.01) * (k + 1) * 0.05)); // norms 2.3 to 16: all clipped
      const sum = new Uint32Array(d);
      for (const u of updates) {
        const sent = encodeDdg(u, plan, uniform);
        for (let i = 0; i < d; i++) sum[i] = (sum[i] + sent[i]) % 2 ** plan.modulusBits;
      }
      const mean = decodeDdgMean(sum, 7, plan);
      const clipped = new Float64Array(d);
      for (const u of updates) {
        const norm = Math.hypot(...u);
        for (let i = 0; i < d; i++) clipped[i] += (u[i] * Math.min(1, 1 / norm)) / 7;
      }
      const error = Array.from(mean, (v, i) => v - clipped[i]);
      const { mean: bias, variance } = moments(error);
      // Noise of the sum: variance (z C)^2 with 7 = minSenders senders, plus rounding (at most 7 gamma^2 / 4), over 7^2; the rotation is orthonormal, so the same either way.
      const expected = (0.5 ** 2 + (7 * plan.gamma ** 2) / 4) / 49;
      expect(Math.abs(bias)).toBeLessThan(5 * Math.sqrt(expected / d));
      expect(variance / expected).toBeGreaterThan(0.9);
      expect(variance / expected).toBeLessThan(1.1);
      // Without the noise, what comes back is the clipped mean to the rounding (rms at most sqrt(7) gamma / 2 / 7), not a scrambled one.
      const quiet = { ...plan, localSigma: 1e-9 };
      const clean = new Uint32Array(d);
      for (const u of updates) {
        const sent = encodeDdg(u, quiet, uniform);
        for (let i = 0; i < d; i++) clean[i] = (clean[i] + sent[i]) % 2 ** plan.modulusBits;
      }
      const rms = Math.sqrt(decodeDdgMean(clean, 7, quiet).reduce((a, v, i) => a + (v - clipped[i]) ** 2, 0) / d);
      expect(rms).toBeLessThan(0.2 * plan.gamma);
      expect(Math.hypot(...clipped) / Math.sqrt(d)).toBeGreaterThan(plan.gamma);
    });
  }

  it('the rotation sizes the modulus for flat coordinates: the same gamma, noise and delta2 (so the same epsilon) in fewer bits', () => {
    const plain = planDdg(input);
    const rotated = planDdg({ ...input, rotationSeed: 1 });
    expect(rotated.gamma).toBe(plain.gamma);
    expect(rotated.localSigma).toBe(plain.localSigma);
    expect(rotated.delta2).toBe(plain.delta2);
    // Here the noise dominates the range: 13 bits become 12.
    expect(rotated.modulusBits).toBe(12);
    // 1,000 devices at little noise: the worst case (one coordinate carrying every device's norm) dominates without the rotation.
    const many = { ...input, length: 75_589, noiseMultiplier: 0.1, maxSenders: 1000, minSenders: 700 };
    expect(planDdg(many).modulusBits - planDdg({ ...many, rotationSeed: 1 }).modulusBits).toBeGreaterThanOrEqual(4);
    // The rotated bound is never above the worst case.
    expect(ddgSumBound(rotated, 10, true)).toBeLessThanOrEqual(ddgSumBound(rotated, 10, false));
  });

  it('a budget of m bits: gamma is the finest that fits, coarser with fewer bits; refused when rounding alone cannot fit', () => {
    const at = (m: number, rotationSeed?: number) => planDdg({ ...input, modulusBits: m, ...(rotationSeed !== undefined ? { rotationSeed } : {}) });
    for (const m of [10, 12, 16]) {
      const plan = at(m, 5);
      expect(plan.modulusBits).toBe(m);
      expect(2 * ddgSumBound(plan, 10, true) + 1).toBeLessThanOrEqual(2 ** m);
      // 1% finer would not fit.
      const finer = { ...plan, gamma: plan.gamma * 0.99, localSigma: plan.localSigma / 0.99, delta2: roundedNormBound(1 / (plan.gamma * 0.99), d) };
      expect(2 * ddgSumBound(finer, 10, true) + 1).toBeGreaterThan(2 ** m);
    }
    expect(at(10, 5).gamma).toBeGreaterThan(at(12, 5).gamma);
    // Without the rotation the same bits need a coarser gamma (the worst case must fit).
    expect(at(12).gamma).toBeGreaterThan(at(12, 5).gamma);
    expect(() => at(4)).toThrow(/4-bit masks cannot hold the sum of 10 devices at any granularity.*at least \d+ bits/);
  });

  it('wrap-around: 10 devices whose updates are one spike each wrap the unrotated sum at a 12-bit budget, and do not with the rotation', () => {
    // The rotated plan's gamma, used with and without the rotation: sized for flat coordinates.
    const rotated = planDdg({ ...input, modulusBits: 12, rotationSeed: 77 });
    const unrotated = { ...rotated, rotationSeed: undefined };
    const spike = new Float32Array(d);
    spike[100] = 3; // clipped to 1: the spike is C / gamma steps in one value
    spike[2000] = 0.01;
    const uniform = seeded(5);
    const wraps = (plan: typeof rotated) => {
      const sum = new Float64Array(d);
      const masked = new Uint32Array(d);
      for (let k = 0; k < 10; k++) {
        const z = ddgIntegers(spike, plan, uniform);
        for (let i = 0; i < d; i++) sum[i] += z[i];
        const sent = encodeDdg(spike, plan, uniform);
        for (let i = 0; i < d; i++) masked[i] = (masked[i] + sent[i]) % 2 ** plan.modulusBits;
      }
      return { count: countWraps(sum, plan.modulusBits), mean: decodeDdgMean(masked, 10, plan) };
    };
    const off = wraps(unrotated);
    const on = wraps(rotated);
    expect(off.count).toBeGreaterThanOrEqual(1);
    expect(on.count).toBe(0);
    // What the wrap does to the decoded mean: the spike (about 1) comes back wrong without the rotation, right (to the noise) with it.
    const noiseSd = (0.5 * Math.sqrt(10 / 7)) / 10;
    expect(Math.abs(on.mean[100] - 1)).toBeLessThan(6 * noiseSd);
    expect(Math.abs(off.mean[100] - 1)).toBeGreaterThan(0.5);
    expect(countWraps([-2048, 2047, 2048, -2049], 12)).toBe(2);
  });
});

describe('the accountant of the distributed discrete Gaussian', () => {
  it('matches a hand-computed epsilon: s = 0.5, n = 2, d = 1, delta2 = 1, every device in the round, delta 1e-5', () => {
    // tau = 10 exp(-2 pi^2 0.25 / 2) = 10 exp(-pi^2 / 4) = 0.848050; l2 = l1 = 1 / (0.5 sqrt 2) = sqrt 2.
    // RDP(alpha) = min(alpha + tau, alpha (2 + 2 sqrt2 tau + tau^2) / 2, alpha (sqrt2 + tau)^2 / 2) = alpha + tau for alpha >= 2.
    // epsilon = min over alpha of alpha + tau + ln(1e5) / (alpha - 1): alpha = 4, 4.848050 + 11.512925 / 3 = 8.685692.
    const tau = 10 * Math.exp(-(Math.PI ** 2) / 4);
    expect(ddgTau(0.5, 2)).toBeCloseTo(tau, 12);
    expect(tau).toBeCloseTo(0.848050, 6);
    const p = { localSigma: 0.5, delta2: 1, length: 1, senders: 2 };
    expect(ddgRdp(p, 2)).toBeCloseTo(2 + tau, 12);
    const { epsilon, order } = epsilonOf(ddgRoundRdp(1, p), 1e-5);
    expect(order).toBe(4);
    expect(epsilon).toBeCloseTo(8.685692, 5);
  });

  it('with s >= 2, tau vanishes and one round is the Gaussian mechanism at z = s sqrt(n) / delta2', () => {
    const p = { localSigma: 300, delta2: 1000, length: 75_000, senders: 10 };
    expect(ddgTau(2, 1000)).toBeLessThan(1e-13);
    const z = (300 * Math.sqrt(10)) / 1000;
    for (const alpha of [2, 8, 64]) expect(ddgRdp(p, alpha)).toBeCloseTo(alpha / (2 * z * z), 9);
  });

  it('fewer senders (dropouts) carry less noise and cost more epsilon', () => {
    const p = { localSigma: 300, delta2: 1000, length: 75_000, senders: 10 };
    expect(epsilonOf(ddgRoundRdp(1, { ...p, senders: 7 }), 1e-5).epsilon).toBeGreaterThan(epsilonOf(ddgRoundRdp(1, p), 1e-5).epsilon);
  });

  it('Poisson subsampling: never above the unsampled curve, and for the Gaussian at or above the exact sampled Gaussian (Mironov et al.) and within 2x of it', () => {
    const sigma = 1.2;
    const gaussian = (alpha: number) => alpha / (2 * sigma * sigma);
    for (const q of [0.01, 0.1, 0.5]) {
      for (const alpha of [2, 4, 16, 64]) {
        const bound = poissonSubsampledRdp(q, alpha, gaussian);
        const exact = sampledGaussianRdp(q, sigma, alpha);
        expect(bound).toBeLessThanOrEqual(gaussian(alpha) + 1e-12);
        expect(bound).toBeGreaterThanOrEqual(exact - 1e-12);
        expect(bound).toBeLessThan(2 * exact + 1e-3);
      }
    }
    expect(poissonSubsampledRdp(1, 5, gaussian)).toBe(gaussian(5));
    expect(ddgRoundRdp(0.1, { localSigma: 300, delta2: 1000, length: 100, senders: 10 })).toHaveLength(RDP_ORDERS.length);
  });
});
