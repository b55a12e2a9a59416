// What the page can tell before training starts: whether WebGPU can be used here and, if not, why.
import type { Backend } from '@fedbit/core/vocabulary';

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

/** A label for every backend of the vocabulary: the compiler says when one is added without one. */
const BACKEND_LABELS: Record<Backend, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** The backend's name as people write it; an unknown name as it came. */
export function backendLabel(backend: string): string {
  return (BACKEND_LABELS as Partial<Record<string, string>>)[backend] ?? backend;
}

/** The line shown when training runs on something other than WebGPU. */
export function fallbackMessage(backend: string, support: GpuSupport): string | null {
  if (backend === 'webgpu') return null;
  const label = backendLabel(backend);
  const why = support.reason ?? 'WebGPU is present but could not start (no usable GPU adapter)';
  return `${why}; training on ${label} instead.`;
}
