// Where this code runs: a browser tab (maybe with WebGPU) or Node.

interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
}
export interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  requestAdapterInfo?: () => Promise<GpuAdapterInfoLike>;
}
export interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

export function gpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu;
}

/** Node (or another server runtime) without WebGPU. */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string' && gpu() === undefined && typeof (globalThis as { document?: unknown }).document === 'undefined';
}
