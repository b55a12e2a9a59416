// Counts what a WebGPU training step asks of the GPU, at the WebGPU API itself (so the figures do
// not depend on which tfjs code path made the calls): compute dispatches, submits, and uploads of
// CPU-side data. An upload is either a buffer created mapped (tfjs-backend-webgpu 4.22's path:
// a staging or storage buffer with mappedAtCreation, then a copy) or a queue.writeBuffer into a
// buffer that is not a uniform buffer (the path of ./uploads.ts). Uniform writes (one per
// dispatch: shapes and strides) are counted apart. Wraps methods of the GPUDevice, GPUQueue and
// GPUComputePassEncoder prototypes once; counting costs one increment per call.

export interface WebGpuCounts {
  dispatches: number;
  submits: number;
  /** Buffers created with mappedAtCreation plus non-uniform queue.writeBuffer calls. */
  uploads: number;
  uploadBytes: number;
  /** Of `uploads`, those through a buffer created mapped. */
  mappedUploads: number;
  uniformWrites: number;
}

const counts: WebGpuCounts = { dispatches: 0, submits: 0, uploads: 0, uploadBytes: 0, mappedUploads: 0, uniformWrites: 0 };
let installed = false;

type Method = (this: unknown, ...args: unknown[]) => unknown;

function wrap(proto: Record<string, unknown> | undefined, name: string, before: (self: unknown, args: unknown[]) => void): boolean {
  const original = proto?.[name] as Method | undefined;
  if (!proto || typeof original !== 'function') return false;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    before(this, args);
    return original.apply(this, args);
  };
  return true;
}

function prototypeOf(name: string): Record<string, unknown> | undefined {
  const ctor = (globalThis as Record<string, unknown>)[name] as { prototype?: Record<string, unknown> } | undefined;
  return ctor?.prototype;
}

function byteLength(data: unknown, size: unknown): number {
  if (typeof size === 'number') return size * ((data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1);
  return (data as { byteLength?: number }).byteLength ?? 0;
}

/**
 * Starts counting (idempotent). Needs the GPU* globals, so call it after WebGPU exists (after
 * initBackend('webgpu') in Node). Returns false where there is no WebGPU to count.
 */
export function countWebGpuCalls(): boolean {
  if (installed) return true;
  const device = prototypeOf('GPUDevice');
  const queue = prototypeOf('GPUQueue');
  const pass = prototypeOf('GPUComputePassEncoder');
  const uniform = ((globalThis as { GPUBufferUsage?: { UNIFORM?: number } }).GPUBufferUsage?.UNIFORM ?? 0x40) as number;
  if (!device || !queue || !pass) return false;
  wrap(pass, 'dispatchWorkgroups', () => {
    counts.dispatches++;
  });
  wrap(queue, 'submit', () => {
    counts.submits++;
  });
  wrap(queue, 'writeBuffer', (_self, args) => {
    const buffer = args[0] as { usage?: number };
    if (((buffer.usage ?? 0) & uniform) !== 0) {
      counts.uniformWrites++;
      return;
    }
    counts.uploads++;
    counts.uploadBytes += byteLength(args[2], args[4]);
  });
  wrap(device, 'createBuffer', (_self, args) => {
    const descriptor = args[0] as { mappedAtCreation?: boolean; size?: number };
    if (descriptor.mappedAtCreation) {
      counts.uploads++;
      counts.mappedUploads++;
      counts.uploadBytes += descriptor.size ?? 0;
    }
  });
  installed = true;
  return true;
}

/** The counts so far (a copy); subtract two readings to get the calls in between. */
export function webGpuCounts(): WebGpuCounts {
  return { ...counts };
}

export function diffCounts(after: WebGpuCounts, before: WebGpuCounts): WebGpuCounts {
  return {
    dispatches: after.dispatches - before.dispatches,
    submits: after.submits - before.submits,
    uploads: after.uploads - before.uploads,
    uploadBytes: after.uploadBytes - before.uploadBytes,
    mappedUploads: after.mappedUploads - before.mappedUploads,
    uniformWrites: after.uniformWrites - before.uniformWrites,
  };
}
