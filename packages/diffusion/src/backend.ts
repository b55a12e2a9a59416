// Picks the fastest tfjs backend this runtime has: webgpu, then webgl, then wasm, then cpu.
// tf.setBackend returns false (it does not throw) when a backend cannot start, so every result
// is checked. The webgpu and webgl backends are imported only where they can work, so Node never
// loads them and a browser bundle can split them out.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ensureGradients } from './gradients';
import { installNodeWebGpu } from './node-webgpu';
import { registerAdamKernels } from './webgpu/adam-kernels';
import { registerGroupNormKernels } from './webgpu/group-norm-kernels';
import { registerSumRowsKernel } from './webgpu/sum-rows-kernel';
import { useWriteBufferUploads } from './webgpu/uploads';
import { gpu, isNode } from './runtime';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendInfo {
  backend: string;
  adapter?: { vendor: string; architecture: string; description?: string };
}

export interface BackendOptions {
  /** Where the browser fetches tfjs-backend-wasm's .wasm files (a folder URL ending in '/'). Not needed in Node. */
  wasmPath?: string;
}

function hasDocument(): boolean {
  return typeof (globalThis as { document?: unknown }).document !== 'undefined' || typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined';
}

/** Starts one backend: null when it runs, else why not. */
async function trySet(name: BackendName, options: BackendOptions): Promise<string | null> {
  const failed = 'not available here';
  try {
    switch (name) {
      case 'webgpu':
        // In Node, navigator.gpu comes from the optional `webgpu` package (Dawn); its refusal says why.
        if (!gpu() && isNode()) await installNodeWebGpu();
        if (!gpu()) return 'no navigator.gpu (WebGPU needs a secure context: https or http://localhost)';
        await import('@tensorflow/tfjs-backend-webgpu');
        registerAdamKernels();
        registerGroupNormKernels();
        registerSumRowsKernel();
        break;
      case 'webgl':
        if (isNode() || !hasDocument()) return 'no document or OffscreenCanvas';
        await import('@tensorflow/tfjs-backend-webgl');
        break;
      case 'wasm': {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        if (options.wasmPath && !isNode()) wasm.setWasmPaths(options.wasmPath);
        break;
      }
      case 'cpu':
        break;
      default: {
        const never: never = name;
        throw new Error(`unknown backend ${String(never)}`);
      }
    }
    if (tf.findBackendFactory(name) === null) return failed;
    const ok = await tf.setBackend(name);
    if (!ok) return failed;
    await tf.ready();
    if (tf.getBackend() !== name) return failed;
    if (name === 'webgpu') useWriteBufferUploads(tf.backend());
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

async function adapterInfo(): Promise<BackendInfo['adapter']> {
  try {
    const adapter = await gpu()?.requestAdapter();
    if (!adapter) return undefined;
    const info = adapter.info ?? (await adapter.requestAdapterInfo?.());
    if (!info) return undefined;
    return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', ...(info.description ? { description: info.description } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Starts a backend. With `prefer`, only that one is tried and a failure throws; without it,
 * webgpu -> webgl -> wasm -> cpu in a browser and wasm -> cpu in Node.
 */
export function initBackend(prefer?: BackendName, options: BackendOptions = {}): Promise<BackendInfo> {
  // Many simulated devices share one tfjs engine: concurrent starts of the same backend share one
  // initialisation (two overlapping tf.setBackend calls make the second fail).
  const key = `${prefer ?? 'auto'}|${options.wasmPath ?? ''}`;
  let started = starting.get(key);
  if (!started) {
    started = startBackend(prefer, options);
    starting.set(key, started);
    started.catch(() => starting.delete(key));
  }
  return started.then((info) => (tf.getBackend() === info.backend ? info : startBackend(prefer, options)));
}

const starting = new Map<string, Promise<BackendInfo>>();

async function startBackend(prefer: BackendName | undefined, options: BackendOptions): Promise<BackendInfo> {
  await ensureGradients();
  const order: BackendName[] = prefer ? [prefer] : isNode() ? ['wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
  let why = '';
  for (const name of order) {
    const failure = await trySet(name, options);
    why = failure ?? '';
    if (failure === null) {
      const info: BackendInfo = { backend: name };
      if (name === 'webgpu') {
        const adapter = await adapterInfo();
        if (adapter) info.adapter = adapter;
      }
      return info;
    }
  }
  if (prefer) {
    throw new Error(
      `the tfjs backend '${prefer}' could not start here` +
        (why ? ` (${why})` : '') +
        (prefer === 'wasm' && !isNode() ? ' (check that wasmPath points at the served tfjs-backend-wasm*.wasm files)' : '') +
        `; call initBackend() without a preference to fall back automatically`,
    );
  }
  throw new Error('no tfjs backend could start (tried webgpu, webgl, wasm, cpu)');
}
