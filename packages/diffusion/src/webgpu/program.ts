// What the project's own WebGPU kernels need of tfjs-backend-webgpu 4.22: a program is an object
// the backend compiles with its own prelude (tfjs-backend-webgpu/src/webgpu_program.ts): inputs
// bind as read-only `array<f32>` named after variableNames, the output as `result`, `uniforms`
// holds the shapes, `size` and the fields declared in `uniforms`; `fn main(index : i32)` runs
// once per invocation, with the prelude's `localIndex` and `workgroupId` in scope. The backend
// caches the compiled pipeline by shaderKey and the input and output shapes.
import type * as tf from '@tensorflow/tfjs-core';

export interface WebGpuProgramLike {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

export type UniformData = { type: 'float32' | 'int32'; data: number[] };

/** The part of tfjs-backend-webgpu's WebGPUBackend these kernels call. */
export interface WebGpuBackendLike {
  /** With `output`, the program writes into that existing tensor (bound read-write) instead of a new one. */
  runWebGPUProgram(program: WebGpuProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType, programUniforms?: UniformData[], output?: tf.TensorInfo): tf.TensorInfo;
}

export const WORKGROUP = 64;

/** Declares uniform fields ("name : f32," or "name : i32,") in the order their data is passed. */
export function uniformFields(fields: readonly (readonly [string, 'f32' | 'i32'])[]): string {
  return fields.map(([name, type]) => `${name} : ${type},`).join(' ');
}

/** One invocation per output element: `body` sees `index` (guarded by uniforms.size). */
export function flatProgram(shaderKey: string, outputShape: number[], variableNames: string[], uniforms: string, body: string, helpers = ''): WebGpuProgramLike {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    variableNames,
    uniforms,
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      ${helpers}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}

/**
 * One workgroup of WORKGROUP invocations per reduction `r` in [0, reductions): `body` runs with
 * `r` and `lid` (the invocation's index in its workgroup) and may call `workgroupSum(value)`,
 * which returns the sum of `value` over the workgroup to every invocation (a tree reduction in
 * workgroup memory). Calls to workgroupSum must be in uniform control flow (every invocation of
 * the workgroup reaches them). The output is written by the body (`result[...] = ...`).
 */
export function reduceProgram(shaderKey: string, outputShape: number[], reductions: number, variableNames: string[], uniforms: string, body: string, helpers = ''): WebGpuProgramLike {
  return {
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [reductions, 1, 1],
    variableNames,
    uniforms,
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      var<workgroup> fedbitPartial : array<f32, ${WORKGROUP}>;
      fn workgroupSum(value : f32) -> f32 {
        let lid = i32(localIndex);
        workgroupBarrier();
        fedbitPartial[lid] = value;
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (lid < stride) {
            fedbitPartial[lid] = fedbitPartial[lid] + fedbitPartial[lid + stride];
          }
          workgroupBarrier();
        }
        return fedbitPartial[0];
      }
      ${helpers}
      fn main(index : i32) {
        let r = i32(workgroupId.x);
        let lid = i32(localIndex);
        ${body}
      }`,
  };
}
