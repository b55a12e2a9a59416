import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { float32ToHalfBits, halfBitsToFloat32, sha256Hex } from '@fedbit/core';
import { resolveModelConfig } from './config';
import { modelLayout } from './model';
import { BASE_FORMAT, decodeBase, encodeBaseWeights, type BaseManifest } from './pretrained';
import { loadPretrainedBase } from './pretrained-node';

const config = resolveModelConfig('tiny', { imageSize: 8, channels: 1 });
const params = modelLayout(config).total;

function weights(): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: params }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.4;
  });
}

function manifestFor(bytes: Uint8Array, over: Partial<BaseManifest> = {}): BaseManifest {
  return {
    name: 'test-base', format: BASE_FORMAT, config, dtype: 'float16', params, sha256: sha256Hex(bytes), ema: true,
    training: { command: 'npm run pretrain -- --size tiny', seed: 1, steps: 2, batch: 8, data: 'emoji', vendors: ['apple', 'google'], gitCommit: 'abc', date: '2026-12-04T00:00:00Z' },
    figures: { finalLoss: 0.5 },
    ...over,
  };
}

describe('the pretrained base format', () => {
  it('round-trips weights exactly to float16', async () => {
    const w = weights();
    w[0] = 1e6; // beyond the half range: saturates at 65504
    const bytes = encodeBaseWeights(w);
    expect(bytes.length).toBe(params * 2);
    const base = await decodeBase(JSON.parse(JSON.stringify(manifestFor(bytes))), bytes);
    expect(base.weights[0]).toBe(65504);
    for (let i = 1; i < params; i++) expect(base.weights[i]).toBe(halfBitsToFloat32(float32ToHalfBits(w[i])));
    expect(base.manifest.config).toEqual(config);
  });

  it('refuses a flipped byte, a truncated file, a wrong params count, a NaN and a bad config, saying which', async () => {
    const bytes = encodeBaseWeights(weights());
    const manifest = manifestFor(bytes);
    const flipped = bytes.slice();
    flipped[100] ^= 0x01;
    await expect(decodeBase(manifest, flipped)).rejects.toThrow(/SHA-256 is [0-9a-f]{64}, the manifest expects/);
    const truncated = bytes.slice(0, bytes.length - 2);
    await expect(decodeBase(manifest, truncated)).rejects.toThrow(new RegExp(`has ${bytes.length - 2} bytes; ${params} float16 parameters need ${bytes.length} \\(truncated\\?\\)`));
    await expect(decodeBase({ ...manifest, params: params + 1 }, bytes)).rejects.toThrow(new RegExp(`params is ${params + 1}, but the config's model has ${params} parameters`));
    const nan = bytes.slice();
    nan[20] = 0x00;
    nan[21] = 0x7e; // half NaN at weight 10
    await expect(decodeBase(manifestFor(nan), nan)).rejects.toThrow(/weight 10 is NaN; expected finite values only/);
    await expect(decodeBase({ ...manifest, config: { ...config, groups: 5 } }, bytes)).rejects.toThrow(/config: invalid model config: groups \(5\) must divide/);
    await expect(decodeBase({ ...manifest, format: 'other/1' }, bytes)).rejects.toThrow(/format must be "fedbit-base\/1"/);
    await expect(decodeBase({ ...manifest, figures: { fid: 'low' } }, bytes)).rejects.toThrow(/figures.fid must be a finite number/);
    await expect(decodeBase('not json', bytes)).rejects.toThrow(/must be a JSON object/);
    expect(() => encodeBaseWeights(Float32Array.of(1, Number.NaN))).toThrow(/weight 1 is NaN/);
  });

  it('loads a base from disk in Node and names the missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbit-base-'));
    const bytes = encodeBaseWeights(weights());
    mkdirSync(join(dir, 'test-base'));
    writeFileSync(join(dir, 'test-base', 'manifest.json'), JSON.stringify(manifestFor(bytes)));
    writeFileSync(join(dir, 'test-base', 'weights.f16.bin'), bytes);
    const base = await loadPretrainedBase('test-base', dir);
    expect(base.weights.length).toBe(params);
    await expect(loadPretrainedBase('absent', dir)).rejects.toThrow(/cannot read the base "absent": .*absent\/manifest\.json/);
    await expect(loadPretrainedBase('../etc', dir)).rejects.toThrow(/expected lowercase letters/);
    writeFileSync(join(dir, 'test-base', 'weights.f16.bin'), bytes.subarray(0, 10));
    await expect(loadPretrainedBase('test-base', dir)).rejects.toThrow(/test-base: invalid pretrained base: the weights file has 10 bytes/);
  });

  it('the shipped emoji base loads, its fingerprint and config checked', async () => {
    const base = await loadPretrainedBase('emoji-base');
    expect(base.manifest.config).toMatchObject({ size: 'default', imageSize: 32, channels: 3, numClasses: 9 });
    expect(base.weights.length).toBe(base.manifest.params);
    expect(base.manifest.training.vendors).toEqual(['apple', 'google']);
  });
});
