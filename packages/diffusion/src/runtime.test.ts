// isNode() must not depend on navigator.gpu: the npm `webgpu` package installs one into Node, and
// Node still has to take the Node paths (gradients through the umbrella package, no fetched .wasm).
// test/node-webgpu.test.ts runs initBackend('webgpu') in plain Node, where the old answer threw.
import { afterEach, describe, expect, it } from 'vitest';
import { gpu, isNode } from './runtime';

const fakeGpu = { requestAdapter: async () => null };

function setNavigator(value: unknown): void {
  Object.defineProperty(globalThis, 'navigator', { value, configurable: true, writable: true });
}

describe('runtime detection', () => {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  afterEach(() => {
    if (original) Object.defineProperty(globalThis, 'navigator', original);
    else delete (globalThis as { navigator?: unknown }).navigator;
  });

  it('Node stays Node when navigator.gpu exists (WebGPU from the webgpu package)', () => {
    setNavigator({ gpu: fakeGpu });
    expect(gpu()).toBe(fakeGpu);
    expect(isNode()).toBe(true);
  });

  it('a runtime with a document is not Node', () => {
    (globalThis as { document?: unknown }).document = {};
    try {
      expect(isNode()).toBe(false);
    } finally {
      delete (globalThis as { document?: unknown }).document;
    }
  });
});
