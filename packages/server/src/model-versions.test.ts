import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeUpdate } from '@fedbit/core';
import { parseByteRange } from './model-http';
import { ModelVersions } from './model-versions';

const weights = (v: number) => Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i + v));

describe('ModelVersions', () => {
  it('encodes and hashes a version once, and the frame decodes to the weights (header round = version + 1)', () => {
    const models = new ModelVersions(2);
    const ref = models.publish(3, weights(3), { bits: 32, blockSize: 512 });
    expect(ref).toEqual({ version: 3, sha256: createHash('sha256').update(models.get(3)!.frame).digest('hex'), bytes: 24 + 4000 });
    expect(decodeUpdate(models.get(3)!.frame, { round: 4 })).toEqual(weights(3));
    // Asked again (a dropped round runs again): the same resource, not a new encoding.
    const frame = models.get(3)!.frame;
    expect(models.publish(3, weights(99), { bits: 32, blockSize: 512 })).toEqual(ref);
    expect(models.get(3)!.frame).toBe(frame);
  });

  it('keeps only the newest `keep` versions', () => {
    const models = new ModelVersions(2);
    for (const v of [0, 1, 2, 3]) models.publish(v, weights(v), { bits: 16, blockSize: 512 });
    expect(models.versions).toEqual([2, 3]);
    expect(models.get(1)).toBeUndefined();
    expect(models.get(3)!.bytes).toBe(24 + 2000);
    expect(() => new ModelVersions(0)).toThrow(RangeError);
  });
});

describe('parseByteRange', () => {
  it('reads one range: first-last, first-, -suffix, clamped to the size', () => {
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ ok: true, start: 0, end: 99 });
    expect(parseByteRange('bytes=990-', 1000)).toEqual({ ok: true, start: 990, end: 999 });
    expect(parseByteRange('bytes=-10', 1000)).toEqual({ ok: true, start: 990, end: 999 });
    expect(parseByteRange('bytes=-5000', 1000)).toEqual({ ok: true, start: 0, end: 999 });
    expect(parseByteRange('bytes=500-99999999999999999999', 1000)).toEqual({ ok: true, start: 500, end: 999 });
    expect(parseByteRange('bytes=999-999', 1000)).toEqual({ ok: true, start: 999, end: 999 });
  });

  it('refuses, with the reason, what it cannot serve', () => {
    const cases: Array<[string, RegExp]> = [
      ['bytes=1000-', /starts at byte 1000; the resource has 1000 bytes/],
      ['bytes=5-2', /ends before it starts/],
      ['bytes=0-1,5-6', /several ranges/],
      ['items=0-1', /not bytes/],
      ['bytes=abc', /malformed/],
      ['bytes=-', /malformed/],
      ['bytes=-0', /suffix of 0 bytes/],
      ['bytes=1.5-2', /malformed/],
    ];
    for (const [header, reason] of cases) {
      const parsed = parseByteRange(header, 1000);
      expect(parsed.ok, header).toBe(false);
      if (!parsed.ok) expect(parsed.reason, header).toMatch(reason);
    }
  });
});
