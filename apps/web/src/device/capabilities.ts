// What the page can tell before training starts: whether WebGPU can be used here and, if not, why.
export interface GpuSupport {
  available: boolean;
  /** Why not, in words a person can act on; null when available. */
  reason: string | null;
}

export function gpuSupport(): GpuSupport {
  if (!window.isSecureContext) {
    return { available: false, reason: 'WebGPU is not available on this page: it needs a secure context (https, or http://localhost)' };
  }
  if (!('gpu' in navigator)) {
    return { available: false, reason: 'WebGPU is not available in this browser' };
  }
  return { available: true, reason: null };
}

export const BACKEND_LABELS: Record<string, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** The line shown when training runs on something other than WebGPU. */
export function fallbackMessage(backend: string, support: GpuSupport): string | null {
  if (backend === 'webgpu') return null;
  const label = BACKEND_LABELS[backend] ?? backend;
  const why = support.reason ?? 'WebGPU is present but could not start (no usable GPU adapter)';
  return `${why}; training on ${label} instead.`;
}
