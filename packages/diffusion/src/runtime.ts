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

/**
 * Node (no DOM), whether or not WebGPU has been installed there: the npm `webgpu` package puts a
 * `navigator.gpu` into Node, and Node still cannot take the browser's paths (directory imports,
 * fetched .wasm files). A browser page or worker has no `process.versions.node`.
 */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string' && typeof (globalThis as { document?: unknown }).document === 'undefined';
}
