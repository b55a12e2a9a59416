// The Fréchet distance between two Gaussians fitted to feature sets (Dowson & Landau 1982), the
// formula behind FID (Heusel et al. 2017, arXiv 1706.08500):
//   d^2 = |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)).
// tr((C1 C2)^(1/2)) = tr((S C2 S)^(1/2)) with S = C1^(1/2), and S C2 S is symmetric PSD, so
// two symmetric eigen-decompositions in float64 give it without a general matrix square root.
import { matmul, sqrtPsd, symmetricEigen } from './linalg';

export interface GaussianStats {
  mu: Float64Array;
  /** dim x dim, row-major, unbiased (n - 1). */
  cov: Float64Array;
  dim: number;
  count: number;
}

/** Mean and covariance of `count` rows of `dim` features (flat, row-major). */
export function featureStats(features: ArrayLike<number>, count: number, dim: number): GaussianStats {
  if (features.length < count * dim) throw new RangeError(`featureStats: ${features.length} values is fewer than count*dim = ${count * dim}`);
  if (count < 2) throw new RangeError(`featureStats: need at least 2 samples for a covariance, got ${count}`);
  const mu = new Float64Array(dim);
  for (let n = 0; n < count; n++) for (let d = 0; d < dim; d++) mu[d] += features[n * dim + d];
  for (let d = 0; d < dim; d++) mu[d] /= count;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let n = 0; n < count; n++) {
    for (let d = 0; d < dim; d++) centred[d] = features[n * dim + d] - mu[d];
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      if (ci === 0) continue;
      for (let j = i; j < dim; j++) cov[i * dim + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const c = cov[i * dim + j] / (count - 1);
      cov[i * dim + j] = c;
      cov[j * dim + i] = c;
    }
  }
  return { mu, cov, dim, count };
}

/** Squared Fréchet distance between N(mu1, cov1) and N(mu2, cov2); covariances dim x dim row-major. */
export function frechetDistance(mu1: ArrayLike<number>, cov1: ArrayLike<number>, mu2: ArrayLike<number>, cov2: ArrayLike<number>): number {
  const n = mu1.length;
  if (mu2.length !== n || cov1.length !== n * n || cov2.length !== n * n) {
    throw new RangeError(`frechetDistance: shapes disagree (mu1 ${mu1.length}, mu2 ${mu2.length}, cov1 ${cov1.length}, cov2 ${cov2.length}; expected covariances of ${n * n})`);
  }
  let meanTerm = 0;
  for (let i = 0; i < n; i++) meanTerm += (mu1[i] - mu2[i]) ** 2;
  const c1 = Float64Array.from(cov1);
  const c2 = Float64Array.from(cov2);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += c1[i * n + i] + c2[i * n + i];
  const s = sqrtPsd(c1, n);
  const { values } = symmetricEigen(matmul(matmul(s, c2, n), s, n), n);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(v, 0));
  // Rounding can leave a tiny negative for identical inputs; a distance is never negative.
  return Math.max(meanTerm + trace - 2 * traceSqrt, 0);
}
