// WebGPU in Node through Dawn's bindings, the npm package `webgpu` (an optional dependency of this
// package: github.com/dawn-gpu/node-webgpu). tfjs-backend-webgpu registers itself at import time
// only if `navigator.gpu` exists, so this runs before it is imported.
//
// Dawn loads the Vulkan loader (libvulkan.so.1) and a driver. On a machine with a GPU the system's
// do; on one without, Chromium's SwiftShader is a software Vulkan driver:
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium
// (LD_LIBRARY_PATH only where Debian's libvulkan1 is not installed; it is read at process start).
import { gpu, type GpuLike } from './runtime';

/** Chromium's SwiftShader Vulkan driver on Debian (the `chromium` package). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
export const SWIFTSHADER_LIB_DIR = '/usr/lib/chromium';

interface WebGpuModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

let installing: Promise<GpuLike> | null = null;

function hint(): string {
  return (
    `on a machine without a GPU, run with VK_ICD_FILENAMES=${SWIFTSHADER_ICD} LD_LIBRARY_PATH=${SWIFTSHADER_LIB_DIR} ` +
    '(SwiftShader from the chromium package; software, slow)'
  );
}

/**
 * Installs `navigator.gpu` (and the GPU* globals tfjs checks with instanceof) from the `webgpu`
 * package, once, and checks that an adapter exists. Throws a message saying what to do when the
 * package is missing or Dawn finds no adapter. Resolves at once where navigator.gpu already exists.
 */
export function installNodeWebGpu(flags: string[] = []): Promise<GpuLike> {
  const existing = gpu();
  if (existing) return Promise.resolve(existing);
  installing ??= (async () => {
    let mod: WebGpuModule;
    try {
      // a computed specifier: browser bundlers must not try to bundle a native Node addon
      const name = 'webgpu';
      mod = (await import(/* @vite-ignore */ name)) as WebGpuModule;
    } catch (error) {
      throw new Error(`WebGPU in Node needs the optional npm package 'webgpu' (npm install webgpu): ${(error as Error).message}`);
    }
    const instance = mod.create(flags);
    const adapter = await instance.requestAdapter();
    if (!adapter) throw new Error(`Dawn (npm 'webgpu') found no WebGPU adapter; ${hint()}`);
    Object.assign(globalThis, mod.globals);
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: instance, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: instance }, configurable: true, writable: true });
    return instance;
  })();
  installing.catch(() => {
    installing = null;
  });
  return installing;
}
