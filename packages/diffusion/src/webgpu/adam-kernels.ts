// Adam's update in WebGPU kernels instead of about 14 element-wise dispatches per variable, with
// every scalar in the dispatch's uniforms (which tfjs writes for every dispatch anyway) instead of
// uploaded tensors. The moments of all variables live in one state tensor, [m | v], updated in
// place for 7 variables per dispatch (adamMomentsInPlace); the new weights are one kernel per
// variable (FedbitAdamApply, registered with tfjs's kernel registry for the webgpu backend):
//   moments: m <- beta1 m + (1-beta1) g,  v <- beta2 v + (1-beta2) g^2   (in the state, in place)
//   apply:   w + (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + eps) * (-lr)
// The arithmetic is tfjs's AdamOptimizer's, operation for operation (see ../adam.ts); the
// composite path in ../adam.ts is the oracle that the tests compare these kernels with.
// ./program.ts says what a tfjs-backend-webgpu 4.22 program is.
import * as tf from '@tensorflow/tfjs-core';
import { flatProgram, uniformFields, WORKGROUP, type UniformData, type WebGpuBackendLike, type WebGpuProgramLike } from './program';

export const ADAM_APPLY = 'FedbitAdamApply';

/** Variables whose moments one dispatch updates: 7 gradients and the state make the 8 storage buffers WebGPU guarantees. */
export const ADAM_GROUP = 7;

const MOMENT_UNIFORMS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2'] as const;
const APPLY_UNIFORMS = ['oneMinusAcc1', 'oneMinusAcc2', 'epsilon', 'negLr'] as const;

function floatData(attrs: tf.NamedAttrMap, names: readonly string[]): UniformData[] {
  return names.map((name) => {
    const value = attrs[name];
    if (typeof value !== 'number') throw new Error(`Adam kernels: attribute ${name} must be a number`);
    return { type: 'float32', data: [value] };
  });
}

function intData(values: number[]): UniformData[] {
  return values.map((v) => ({ type: 'int32', data: [v] }));
}

/** A gradient and where its variable's moments start in the state. */
export interface MomentsItem {
  g: tf.TensorInfo;
  offset: number;
}

/**
 * Updates the moments of several variables in place, ADAM_GROUP gradients per dispatch. `state`
 * holds [m of every variable | v of every variable], `total` values each, a variable's m at its
 * offset and its v at total + offset. The state is the program's output, bound read-write and
 * written where it is (tfjs-backend-webgpu's runWebGPUProgram takes an existing output), so no new
 * tensor is made; the state is never read on the CPU, where tfjs could hold a stale copy.
 */
export function adamMomentsInPlace(state: tf.TensorInfo, items: MomentsItem[], total: number, attrs: tf.NamedAttrMap): void {
  if (state.shape.length !== 1 || state.shape[0] !== 2 * total) throw new Error(`Adam state of shape [${2 * total}] expected, got [${state.shape.join(',')}]`);
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  for (let start = 0; start < items.length; start += ADAM_GROUP) {
    const group = items.slice(start, start + ADAM_GROUP);
    const ends: number[] = [];
    let count = 0;
    for (const item of group) {
      const n = item.g.shape.reduce((a, b) => a * b, 1);
      if (item.offset < 0 || item.offset + n > total) throw new Error(`Adam state: a gradient of ${n} values at offset ${item.offset} overruns ${total}`);
      count += n;
      ends.push(count);
    }
    const k = group.length;
    const names = group.map((_, j) => `G${j}`);
    // which gradient element `index` is: the first j with index < end j
    const pick = names
      .map((name, j) => `${j === 0 ? '' : 'else '}if (index < uniforms.e${j}) { local = index${j === 0 ? '' : ` - uniforms.e${j - 1}`}; o = uniforms.o${j} + local; g = ${name}[local]; }`)
      .join('\n          ');
    const fields = [
      ...names.map((_, j) => [`o${j}`, 'i32'] as const),
      ...names.map((_, j) => [`e${j}`, 'i32'] as const),
      ['count', 'i32'] as const,
      ['total', 'i32'] as const,
      ...MOMENT_UNIFORMS.map((u) => [u, 'f32'] as const),
    ];
    const program: WebGpuProgramLike = {
      outputShape: state.shape,
      shaderKey: `fedbit_adam_moments_${k}`,
      dispatchLayout: { x: [0] },
      dispatch: [Math.ceil(count / WORKGROUP), 1, 1],
      variableNames: names,
      uniforms: uniformFields(fields),
      workgroupSize: [WORKGROUP, 1, 1],
      size: true,
      getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.count) {
          var local = 0;
          var o = 0;
          var g = 0.0;
          ${pick}
          result[o] = result[o] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
          let ov = uniforms.total + o;
          result[ov] = result[ov] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
        }
      }`,
    };
    const uniforms = [...intData(group.map((i) => i.offset)), ...intData(ends), ...intData([count, total]), ...floatData(attrs, MOMENT_UNIFORMS)];
    backend.runWebGPUProgram(program, group.map((i) => i.g), 'float32', uniforms, state);
  }
}

/** w (n), the state -> w + (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + eps) * (-lr), m and v read at the variable's offset. */
function adamApply({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { w, state } = inputs as { w: tf.TensorInfo; state: tf.TensorInfo };
  const offset = attrs?.offset;
  const total = attrs?.total;
  if (typeof offset !== 'number' || typeof total !== 'number') throw new Error(`${ADAM_APPLY}: attributes offset and total must be numbers`);
  const program = flatProgram(
    'fedbit_adam_apply',
    w.shape,
    ['W', 'P'],
    uniformFields([['offset', 'i32'], ['total', 'i32'], ...APPLY_UNIFORMS.map((u) => [u, 'f32'] as const)]),
    `let mHat = P[uniforms.offset + index] / uniforms.oneMinusAcc1;
          let vHat = P[uniforms.total + uniforms.offset + index] / uniforms.oneMinusAcc2;
          setOutputAtIndex(index, (mHat / (sqrt(vHat) + uniforms.epsilon)) * uniforms.negLr + W[index]);`,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [w, state], 'float32', [...intData([offset, total]), ...floatData(attrs ?? {}, APPLY_UNIFORMS)]);
}

let registered = false;

/** Registers the apply kernel for the webgpu backend (idempotent); ../adam.ts uses the fused path where it exists. */
export function registerAdamKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: ADAM_APPLY, backendName: 'webgpu', kernelFunc: adamApply as unknown as tf.KernelFunc });
}
