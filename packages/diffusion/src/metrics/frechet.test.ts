import { describe, expect, it } from 'vitest';
import { classEntropyBits, inceptionScore } from './diversity';
import { featureStats, frechetDistance } from './frechet';
import { matmul, sqrtPsd, symmetricEigen } from './linalg';

function gaussianRows(count: number, dim: number, seed: number, shift = 0): Float64Array {
  let s = seed >>> 0;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const out = new Float64Array(count * dim);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) * (1 + (i % dim) / dim) + shift;
  return out;
}

describe('symmetric eigen / sqrt', () => {
  it('reconstructs a random symmetric matrix and its square root', () => {
    const n = 12;
    const x = gaussianRows(40, n, 3);
    const { cov } = featureStats(x, 40, n);
    const { values, vectors } = symmetricEigen(cov, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let r = 0;
        for (let k = 0; k < n; k++) r += vectors[i * n + k] * values[k] * vectors[j * n + k];
        expect(r).toBeCloseTo(cov[i * n + j], 10);
      }
    }
    const s = sqrtPsd(cov, n);
    const ss = matmul(s, s, n);
    for (let i = 0; i < n * n; i++) expect(ss[i]).toBeCloseTo(cov[i], 10);
  });
});

describe('frechetDistance', () => {
  it('matches a hand-checked 2-D example', () => {
    // mu diff (3, 4) -> 25; C1 = diag(4, 9), C2 = diag(1, 1): tr = 4+9+1+1 - 2*(2+3) = 5. Total 30.
    expect(frechetDistance([0, 0], [4, 0, 0, 9], [3, 4], [1, 0, 0, 1])).toBeCloseTo(30, 10);
    // Non-diagonal, commuting: C1 = [[2,1],[1,2]] (eig 3,1), C2 = I -> tr = 4 + 2 - 2(sqrt3 + 1).
    expect(frechetDistance([1, 1], [2, 1, 1, 2], [1, 1], [1, 0, 0, 1])).toBeCloseTo(6 - 2 * (Math.sqrt(3) + 1), 10);
    // Non-commuting: C1 = diag(1, 0), C2 = [[1,1],[1,1]]: sqrt(C1) C2 sqrt(C1) = diag(1, 0) -> 1 + 2 - 2 = 1.
    expect(frechetDistance([0, 0], [1, 0, 0, 0], [0, 0], [1, 1, 1, 1])).toBeCloseTo(1, 10);
  });

  it('is ~0 for a set against itself and grows with a shift', () => {
    const dim = 32;
    const a = featureStats(gaussianRows(500, dim, 1), 500, dim);
    expect(frechetDistance(a.mu, a.cov, a.mu, a.cov)).toBeLessThan(1e-8);
    const d1 = featureStats(gaussianRows(500, dim, 1, 0.5), 500, dim);
    const d2 = featureStats(gaussianRows(500, dim, 1, 1.0), 500, dim);
    const f1 = frechetDistance(a.mu, a.cov, d1.mu, d1.cov);
    const f2 = frechetDistance(a.mu, a.cov, d2.mu, d2.cov);
    expect(f1).toBeCloseTo(0.25 * dim, 6);
    expect(f2).toBeGreaterThan(3.9 * f1);
  });

  it('is symmetric and cheap at 128 dims', () => {
    const dim = 128;
    const a = featureStats(gaussianRows(300, dim, 5), 300, dim);
    const b = featureStats(gaussianRows(300, dim, 6), 300, dim);
    const t = performance.now();
    const ab = frechetDistance(a.mu, a.cov, b.mu, b.cov);
    expect(performance.now() - t).toBeLessThan(5000);
    expect(ab).toBeCloseTo(frechetDistance(b.mu, b.cov, a.mu, a.cov), 6);
    expect(ab).toBeGreaterThan(0);
  });
});

describe('diversity', () => {
  const oneHot = (classes: number[]): Float64Array => {
    const p = new Float64Array(classes.length * 10);
    classes.forEach((c, n) => (p[n * 10 + c] = 1));
    return p;
  };
  it('class entropy: one class ~0 bits, balanced ~log2(10) bits', () => {
    expect(classEntropyBits(oneHot(Array(100).fill(3)), 100, 10)).toBe(0);
    expect(classEntropyBits(oneHot(Array.from({ length: 100 }, (_, i) => i % 10)), 100, 10)).toBeCloseTo(Math.log2(10), 10);
  });
  it('inception score: 1 for one class or uninformative, 10 for confident and balanced', () => {
    expect(inceptionScore(oneHot(Array(50).fill(7)), 50, 10)).toBeCloseTo(1, 6);
    expect(inceptionScore(new Float64Array(500).fill(0.1), 50, 10)).toBeCloseTo(1, 6);
    expect(inceptionScore(oneHot(Array.from({ length: 100 }, (_, i) => i % 10)), 100, 10)).toBeCloseTo(10, 4);
  });
});
