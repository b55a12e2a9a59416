// The bases a LoRA run may name: 'random' and the shipped pretrained emoji base, each with its identity.
import { describe, expect, it } from 'vitest';
import { initBackend, resolveModelConfig } from '@fedbit/diffusion';
import { KNOWN_BASES, baseResource, resolveBase } from './lora-base';

describe('resolveBase', () => {
  it('loads the shipped emoji base with its own config and fingerprint, and serves it at 16 bits', async () => {
    await initBackend('wasm');
    const runConfig = resolveModelConfig('tiny', { imageSize: 16, channels: 1 });
    const base = await resolveBase('emoji-base', runConfig, 1);
    expect(base.config).toMatchObject({ imageSize: 32, channels: 3, numClasses: 9, size: 'default' });
    expect(base.weights).toHaveLength(1_060_451);
    expect(base.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(base.weights.every(Number.isFinite)).toBe(true);
    // float16 weights survive the 16-bit frame devices fetch, bit for bit.
    expect(baseResource(base).weights).toEqual(base.weights);
    expect(KNOWN_BASES).toContain('emoji-base');
  });

  it('names the known bases for an unknown one', async () => {
    await expect(resolveBase('sdxl', resolveModelConfig('tiny', { imageSize: 16, channels: 1 }), 1)).rejects.toThrow(/'sdxl' is not a known base model; expected one of 'random', 'emoji-base'/);
  });
});
