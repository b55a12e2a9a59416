// GroupNorm (Wu & He, arXiv 1803.08494) with its affine and SiLU (Elfwing et al., arXiv
// 1702.03118) fused into WebGPU kernels, forward and backward, registered with tfjs's kernel
// registry for the webgpu backend. Every GroupNorm of the U-Net is followed by SiLU, and tfjs
// computes the pair with about 35 dispatches per norm (moments over the group's axes go through
// transposes, then the element-wise chain of the normalisation, the affine and the SiLU, and as
// many again for the closed-form backward of ../norm.ts); here it takes 2 forward and 4 backward:
//   FedbitGroupNormStats   x [n,h,w,C] -> [n*G*2]: mean and 1/sqrt(var + eps) of each (image, group)
//   FedbitGroupNormSilu    x, stats, gamma, beta -> silu(gamma * x_hat + beta)
//   FedbitGroupNormSiluGradSums   dy, x, stats, gamma, beta -> [n*G*2]: means of dx_hat and dx_hat * x_hat
//   FedbitGroupNormSiluGradInput  dy, x, stats, gamma, beta, sums -> dx
//   FedbitGroupNormSiluGradAffine dy, x, stats, gamma, beta -> dgamma (which 0) or dbeta (which 1), [C]
// with a = gamma x_hat + beta, s = sigmoid(a), da = dy (s + a s (1 - s)), dx_hat = gamma da,
// dx = (dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat)) / sigma over each group: the closed
// forms of ../norm.ts, whose composite path is the oracle the tests compare these kernels with.
// Statistics are a workgroup tree reduction per (image, group); the arithmetic is tfjs's, operation
// for operation, so only the order of the sums differs.
import * as tf from '@tensorflow/tfjs-core';
import { flatProgram, reduceProgram, uniformFields, WORKGROUP, type UniformData, type WebGpuBackendLike } from './program';

export const GN_STATS = 'FedbitGroupNormStats';
export const GN_SILU = 'FedbitGroupNormSilu';
export const GN_GRAD_SUMS = 'FedbitGroupNormSiluGradSums';
export const GN_GRAD_INPUT = 'FedbitGroupNormSiluGradInput';
export const GN_GRAD_AFFINE = 'FedbitGroupNormSiluGradAffine';

/** The largest tensor the flat kernels cover (one dispatch dimension of at most 65,535 workgroups). */
export const GN_MAX_ELEMENTS = 65535 * WORKGROUP;

const SHAPE_FIELDS = [
  ['batch', 'i32'],
  ['hw', 'i32'],
  ['channels', 'i32'],
  ['groups', 'i32'],
] as const;

// Shared WGSL: where the k-th element of reduction r = b * groups + g lives, SiLU's sigmoid as
// tfjs writes it, and everything the backward kernels recompute from x and the statistics.
const INDEX_HELPERS = `
  fn groupSize() -> i32 {
    return uniforms.hw * (uniforms.channels / uniforms.groups);
  }
  fn groupElement(r : i32, k : i32) -> i32 {
    let cg = uniforms.channels / uniforms.groups;
    let b = r / uniforms.groups;
    let g = r - b * uniforms.groups;
    let p = k / cg;
    return (b * uniforms.hw + p) * uniforms.channels + g * cg + (k - p * cg);
  }
  fn statsIndex(i : i32) -> i32 {
    let c = i % uniforms.channels;
    let b = i / (uniforms.hw * uniforms.channels);
    return (b * uniforms.groups + c / (uniforms.channels / uniforms.groups)) * 2;
  }
  fn sigmoidOf(a : f32) -> f32 {
    return 1.0 / (1.0 + exp(-1.0 * a));
  }`;

// x_hat of element i (binds X and S)
const HELPERS =
  INDEX_HELPERS +
  `
  fn xHatAt(i : i32) -> f32 {
    let s = statsIndex(i);
    return (X[i] - S[s]) * S[s + 1];
  }`;

// da (the gradient at the affine's output) of element i, from x_hat
const GRAD_HELPERS = `
  fn daAt(i : i32, xh : f32) -> f32 {
    let c = i % uniforms.channels;
    let a = xh * Gm[c] + Bt[c];
    let s = sigmoidOf(a);
    let y = a * s;
    return Dy[i] * (s + y * (1.0 - s));
  }`;

interface Inputs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

function shapeUniforms(x: tf.TensorInfo, groups: number): UniformData[] {
  const [n, h, w, c] = x.shape;
  return [n, h * w, c, groups].map((v) => ({ type: 'int32', data: [v] }));
}

function groupsOf(attrs: tf.NamedAttrMap | undefined, x: tf.TensorInfo): number {
  const groups = attrs?.groups;
  if (x.shape.length !== 4) throw new Error(`FedbitGroupNorm: NHWC input expected, got shape [${x.shape.join(',')}]`);
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1 || x.shape[3] % groups !== 0) {
    throw new Error(`FedbitGroupNorm: groups must divide the ${x.shape[3]} channels, got ${String(groups)}`);
  }
  return groups;
}

function stats({ inputs, backend, attrs }: Inputs): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const groups = groupsOf(attrs, x);
  const eps = attrs?.eps;
  if (typeof eps !== 'number') throw new Error(`${GN_STATS}: attribute eps must be a number`);
  const reductions = x.shape[0] * groups;
  const program = reduceProgram(
    'fedbit_gn_stats',
    [reductions * 2],
    reductions,
    ['X'],
    uniformFields([...SHAPE_FIELDS, ['eps', 'f32']]),
    `let m = groupSize();
        var s = 0.0;
        for (var k = lid; k < m; k = k + ${WORKGROUP}) {
          s = s + X[groupElement(r, k)];
        }
        let mean = workgroupSum(s) / f32(m);
        var q = 0.0;
        for (var k = lid; k < m; k = k + ${WORKGROUP}) {
          let d = X[groupElement(r, k)] - mean;
          q = q + d * d;
        }
        let variance = workgroupSum(q) / f32(m);
        if (lid == 0) {
          result[r * 2] = mean;
          result[r * 2 + 1] = 1.0 / sqrt(variance + uniforms.eps);
        }`,
    INDEX_HELPERS,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [x], 'float32', [...shapeUniforms(x, groups), { type: 'float32', data: [eps] }]);
}

function apply({ inputs, backend, attrs }: Inputs): tf.TensorInfo {
  const { x, stats: s, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
  const groups = groupsOf(attrs, x);
  const program = flatProgram(
    'fedbit_gn_silu',
    x.shape,
    ['X', 'S', 'Gm', 'Bt'],
    uniformFields(SHAPE_FIELDS),
    `let c = index % uniforms.channels;
          let a = xHatAt(index) * Gm[c] + Bt[c];
          setOutputAtIndex(index, a * sigmoidOf(a));`,
    HELPERS,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [x, s, gamma, beta], 'float32', shapeUniforms(x, groups));
}

function gradSums({ inputs, backend, attrs }: Inputs): tf.TensorInfo {
  const { dy, x, stats: s, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
  const groups = groupsOf(attrs, x);
  const reductions = x.shape[0] * groups;
  const program = reduceProgram(
    'fedbit_gn_silu_grad_sums',
    [reductions * 2],
    reductions,
    ['Dy', 'X', 'S', 'Gm', 'Bt'],
    uniformFields(SHAPE_FIELDS),
    `let m = groupSize();
        var s1 = 0.0;
        var s2 = 0.0;
        for (var k = lid; k < m; k = k + ${WORKGROUP}) {
          let i = groupElement(r, k);
          let xh = xHatAt(i);
          let dxh = daAt(i, xh) * Gm[i % uniforms.channels];
          s1 = s1 + dxh;
          s2 = s2 + dxh * xh;
        }
        let t1 = workgroupSum(s1);
        let t2 = workgroupSum(s2);
        if (lid == 0) {
          result[r * 2] = t1 / f32(m);
          result[r * 2 + 1] = t2 / f32(m);
        }`,
    HELPERS + GRAD_HELPERS,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [dy, x, s, gamma, beta], 'float32', shapeUniforms(x, groups));
}

function gradInput({ inputs, backend, attrs }: Inputs): tf.TensorInfo {
  const { dy, x, stats: s, gamma, beta, sums } = inputs as Record<string, tf.TensorInfo>;
  const groups = groupsOf(attrs, x);
  const program = flatProgram(
    'fedbit_gn_silu_grad_input',
    x.shape,
    ['Dy', 'X', 'S', 'Gm', 'Bt', 'Sums'],
    uniformFields(SHAPE_FIELDS),
    `let si = statsIndex(index);
          let xh = xHatAt(index);
          let dxh = daAt(index, xh) * Gm[index % uniforms.channels];
          setOutputAtIndex(index, ((dxh - Sums[si]) - xh * Sums[si + 1]) * S[si + 1]);`,
    HELPERS + GRAD_HELPERS,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [dy, x, s, gamma, beta, sums], 'float32', shapeUniforms(x, groups));
}

function gradAffine({ inputs, backend, attrs }: Inputs): tf.TensorInfo {
  const { dy, x, stats: s, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
  const groups = groupsOf(attrs, x);
  const which = attrs?.which;
  if (which !== 0 && which !== 1) throw new Error(`${GN_GRAD_AFFINE}: attribute which must be 0 (gamma) or 1 (beta)`);
  const program = reduceProgram(
    'fedbit_gn_silu_grad_affine',
    gamma.shape,
    x.shape[3],
    ['Dy', 'X', 'S', 'Gm', 'Bt'],
    uniformFields([...SHAPE_FIELDS, ['which', 'i32']]),
    `let count = uniforms.batch * uniforms.hw;
        var acc = 0.0;
        for (var k = lid; k < count; k = k + ${WORKGROUP}) {
          let i = k * uniforms.channels + r;
          let xh = xHatAt(i);
          let da = daAt(i, xh);
          acc = acc + select(da * xh, da, uniforms.which == 1);
        }
        let total = workgroupSum(acc);
        if (lid == 0) {
          result[r] = total;
        }`,
    HELPERS + GRAD_HELPERS,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [dy, x, s, gamma, beta], 'float32', [...shapeUniforms(x, groups), { type: 'int32', data: [which] }]);
}

let registered = false;

/** Registers the five kernels for the webgpu backend (idempotent); ../norm.ts uses them where they exist. */
export function registerGroupNormKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: [string, (args: Inputs) => tf.TensorInfo][] = [
    [GN_STATS, stats],
    [GN_SILU, apply],
    [GN_GRAD_SUMS, gradSums],
    [GN_GRAD_INPUT, gradInput],
    [GN_GRAD_AFFINE, gradAffine],
  ];
  for (const [kernelName, fn] of kernels) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: fn as unknown as tf.KernelFunc });
}
