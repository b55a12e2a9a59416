// The gradient of a broadcast bias add as one WebGPU kernel: x viewed as [outer, rows, channels]
// summed over its rows, giving [outer, channels]. tfjs reduces over leading axes by transposing
// them to the end first (a TransposeProgram and a ReduceProgram per bias); a conv's bias
// (outer 1, rows n*h*w) and the time embedding added to every pixel (outer n, rows h*w) take
// one dispatch here, a workgroup tree reduction per output value. ../bias.ts uses it where it is
// registered; tf.add's own gradient is the oracle the tests compare it with.
import * as tf from '@tensorflow/tfjs-core';
import { reduceProgram, uniformFields, WORKGROUP, type WebGpuBackendLike } from './program';

export const SUM_ROWS = 'FedbitSumRows';

function sumRows({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const outer = attrs?.outer;
  const channels = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, b) => a * b, 1);
  if (typeof outer !== 'number' || !Number.isInteger(outer) || outer < 1 || size % (outer * channels) !== 0) {
    throw new Error(`${SUM_ROWS}: outer must divide the ${size / channels} rows of x [${x.shape.join(',')}], got ${String(outer)}`);
  }
  const rows = size / (outer * channels);
  const program = reduceProgram(
    'fedbit_sum_rows',
    outer === 1 ? [channels] : [outer, channels],
    outer * channels,
    ['X'],
    uniformFields([
      ['rows', 'i32'],
      ['channels', 'i32'],
    ]),
    `let o = r / uniforms.channels;
        let c = r - o * uniforms.channels;
        var acc = 0.0;
        for (var k = lid; k < uniforms.rows; k = k + ${WORKGROUP}) {
          acc = acc + X[(o * uniforms.rows + k) * uniforms.channels + c];
        }
        let total = workgroupSum(acc);
        if (lid == 0) {
          result[r] = total;
        }`,
  );
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [x], 'float32', [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [channels] },
  ]);
}

let registered = false;

/** Registers the kernel for the webgpu backend (idempotent). */
export function registerSumRowsKernel(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: SUM_ROWS, backendName: 'webgpu', kernelFunc: sumRows as unknown as tf.KernelFunc });
}
