// Adam's update of one variable as two WebGPU kernels (registered with tfjs's kernel registry for
// the webgpu backend) instead of about 14 element-wise dispatches, with every scalar in the
// dispatch's uniforms (which tfjs writes for every dispatch anyway) instead of uploaded tensors.
// The arithmetic is tfjs's AdamOptimizer's, operation for operation (see ../adam.ts); the
// composite path in ../adam.ts is the oracle that the tests compare these kernels with.
//   FedbitAdamMoments: [m | v] (2n), g (n) -> [beta1 m + (1-beta1) g | beta2 v + (1-beta2) g^2]
//   FedbitAdamApply:   w (n), [m | v] -> w + (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + eps) * (-lr)
// ./program.ts says what a tfjs-backend-webgpu 4.22 program is.
import * as tf from '@tensorflow/tfjs-core';
import { flatProgram, uniformFields, type UniformData, type WebGpuBackendLike } from './program';

export const ADAM_MOMENTS = 'FedbitAdamMoments';
export const ADAM_APPLY = 'FedbitAdamApply';

const MOMENT_UNIFORMS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2'] as const;
const APPLY_UNIFORMS = ['oneMinusAcc1', 'oneMinusAcc2', 'epsilon', 'negLr'] as const;

function uniformData(attrs: tf.NamedAttrMap, names: readonly string[]): UniformData[] {
  return names.map((name) => {
    const value = attrs[name];
    if (typeof value !== 'number') throw new Error(`${ADAM_MOMENTS}/${ADAM_APPLY}: attribute ${name} must be a number`);
    return { type: 'float32', data: [value] };
  });
}

function adamMoments({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { packed, g } = inputs as { packed: tf.TensorInfo; g: tf.TensorInfo };
  const n = g.shape.reduce((a, b) => a * b, 1);
  if (packed.shape.length !== 1 || packed.shape[0] !== 2 * n) throw new Error(`${ADAM_MOMENTS}: moments of shape [${2 * n}] expected, got [${packed.shape.join(',')}]`);
  const program = flatProgram(
    'fedbit_adam_moments',
    packed.shape,
    ['P', 'G'],
    uniformFields(MOMENT_UNIFORMS.map((u) => [u, 'f32'] as const)),
    `let n = uniforms.size / 2;
          if (index < n) {
            setOutputAtIndex(index, P[index] * uniforms.beta1 + G[index] * uniforms.oneMinusBeta1);
          } else {
            let g = G[index - n];
            setOutputAtIndex(index, P[index] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2);
          }`,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [packed, g], 'float32', uniformData(attrs ?? {}, MOMENT_UNIFORMS));
}

function adamApply({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { w, packed } = inputs as { w: tf.TensorInfo; packed: tf.TensorInfo };
  const program = flatProgram(
    'fedbit_adam_apply',
    w.shape,
    ['W', 'P'],
    uniformFields(APPLY_UNIFORMS.map((u) => [u, 'f32'] as const)),
    `let mHat = P[index] / uniforms.oneMinusAcc1;
          let vHat = P[index + uniforms.size] / uniforms.oneMinusAcc2;
          setOutputAtIndex(index, (mHat / (sqrt(vHat) + uniforms.epsilon)) * uniforms.negLr + W[index]);`,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [w, packed], 'float32', uniformData(attrs ?? {}, APPLY_UNIFORMS));
}

let registered = false;

/** Registers the two kernels for the webgpu backend (idempotent); ../adam.ts uses them where they exist. */
export function registerAdamKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: ADAM_MOMENTS, backendName: 'webgpu', kernelFunc: adamMoments as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ADAM_APPLY, backendName: 'webgpu', kernelFunc: adamApply as unknown as tf.KernelFunc });
}
