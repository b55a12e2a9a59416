// Small uploads through GPUQueue.writeBuffer. tfjs-backend-webgpu 4.22 uploads every CPU-side
// tensor through a buffer created mapped (WebGPUBackend.uploadToGPU: a fresh staging buffer or a
// storage buffer with mappedAtCreation, then a copy), a design from tensorflow/tfjs#7524 after
// tensorflow/tfjs#5928 moved away from writeBuffer for large uploads (tensorflow/tfjs#5689). For
// the many small tensors of a training step (a batch, timestep features, scalars of gradient
// functions) a mapped buffer per upload costs about 1.2 ms on an H100 against about 6 us for
// writeBuffer (issue 11's measurements); uploads under 64 KiB through writeBuffer alone took the
// tiny step from 1,464 to 273 ms there. So this replaces uploadToGPU on the WebGPUBackend
// prototype: writeBuffer up to WRITE_BUFFER_MAX_BYTES, the original path above it.
//
// Ordering: writeBuffer runs on the queue before the commands still being recorded. That is safe
// because a buffer tfjs hands out from its pool is never one those pending commands use (a tensor
// used by a recorded dispatch is released only after the submit: commandQueueOwnedIds), and a
// pool key includes the size, so a buffer that a pending staging copy of the original path
// (larger uploads only) writes is never one this path writes.
//
// The override reaches into fields that are private in the TypeScript declarations (tensorMap,
// bufferManager, queue) of tfjs-backend-webgpu 4.22.0, which this package pins exactly; where
// those fields are missing it leaves tfjs's own uploadToGPU alone. Checked by
// test/node-webgpu.test.ts (upload counts, same losses) and test/diffusion-webgpu-grad.test.ts.

/** Uploads up to this size go through queue.writeBuffer (the size measured in issue 11). */
export const WRITE_BUFFER_MAX_BYTES = 64 * 1024;

type DataId = object;
interface TensorData {
  dtype: string;
  shape: number[];
  values: ArrayLike<number> | null;
  resource: unknown;
}
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: DataId): TensorData };
  bufferManager: { acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): unknown };
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void };
  uploadToGPU(dataId: DataId): void;
}

const PATCHED = Symbol.for('fedbit.writeBufferUploads');

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Replaces WebGPUBackend.prototype.uploadToGPU (found from a live backend instance) once. Returns
 * true when the override is in place, false where the backend's shape differs from 4.22's.
 */
export function useWriteBufferUploads(backend: object): boolean {
  const proto = Object.getPrototypeOf(backend) as Record<string | symbol, unknown>;
  if (proto[PATCHED]) return true;
  const internals = backend as Partial<WebGpuBackendInternals>;
  const original = proto.uploadToGPU as WebGpuBackendInternals['uploadToGPU'] | undefined;
  if (
    typeof original !== 'function' ||
    typeof internals.tensorMap?.get !== 'function' ||
    typeof internals.bufferManager?.acquireBuffer !== 'function' ||
    typeof internals.queue?.writeBuffer !== 'function'
  ) {
    return false;
  }
  const usage = () => {
    const u = (globalThis as { GPUBufferUsage?: { STORAGE: number; COPY_SRC: number; COPY_DST: number } }).GPUBufferUsage;
    if (!u) throw new Error('GPUBufferUsage is missing: WebGPU is not installed in this runtime');
    return u.STORAGE | u.COPY_SRC | u.COPY_DST;
  };
  proto.uploadToGPU = function uploadToGPU(this: WebGpuBackendInternals, dataId: DataId): void {
    const data = this.tensorMap.get(dataId);
    if (data.resource != null || data.values == null) return original.call(this, dataId);
    const { dtype, values } = data;
    const bytes = 4 * elementCount(data.shape);
    if ((dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') || bytes > WRITE_BUFFER_MAX_BYTES || bytes === 0) return original.call(this, dataId);
    // the same usage and pool key as tfjs's own storage buffers, so they are pooled together
    const buffer = this.bufferManager.acquireBuffer(bytes, usage());
    const typed = dtype === 'float32' ? (values instanceof Float32Array ? values : Float32Array.from(values)) : values instanceof Int32Array ? values : Int32Array.from(values);
    this.queue.writeBuffer(buffer, 0, typed);
    data.values = null;
    data.resource = buffer;
  };
  proto[PATCHED] = true;
  return true;
}
