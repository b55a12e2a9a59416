import { describe, expect, it } from 'vitest';
import { decodeUpdate, encodeUpdate } from './codec';
import { ErrorFeedback } from './error-feedback';
import { createRng } from '../random/xoshiro';

const N = 512;
const BLOCK = 128;
const rng = createRng(5);
const update = Float32Array.from({ length: N }, () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat()));
const maxAbs = update.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Sends the same update for `rounds` rounds; returns max_i |sum of decoded - sum of true| after each 50. */
function drift(bits: 1 | 2 | 4, rounds: number, mode: 'scaled' | 'classic' | 'off'): number[] {
  const ef = new ErrorFeedback(N);
  const sent = new Float64Array(N);
  const out: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const c = mode === 'off' ? update : ef.apply(update, mode === 'scaled' ? { bits, blockSize: BLOCK } : undefined);
    const frame = encodeUpdate(c, { bits, round: r, blockSize: BLOCK, seed: r });
    if (mode !== 'off') ef.remember(c, frame);
    const y = decodeUpdate(frame);
    for (let i = 0; i < N; i++) sent[i] += y[i];
    if (r % 50 === 0) out.push(Math.max(...Array.from(sent, (v, i) => Math.abs(v - r * update[i]))));
  }
  return out;
}

describe('ErrorFeedback', () => {
  for (const bits of [1, 2] as const) {
    it(`keeps the sum of sent updates within a bounded distance of the true sum at ${bits} bit(s)`, () => {
      const withEf = drift(bits, 400, 'scaled');
      // The gap is the last residual: it must not grow with the rounds ...
      expect(Math.max(...withEf.slice(4))).toBeLessThanOrEqual(2 * Math.max(...withEf.slice(0, 4)) + maxAbs);
      expect(Math.max(...withEf)).toBeLessThan(15 * maxAbs);
      // ... while without feedback the unbiased noise random-walks away (about sqrt(rounds)).
      const without = drift(bits, 400, 'off');
      expect(without.at(-1)!).toBeGreaterThan(withEf.at(-1)!);
    });
  }

  it('classic (unscaled) feedback is stable at 4 bits', () => {
    expect(Math.max(...drift(4, 200, 'classic'))).toBeLessThan(maxAbs);
  });

  it('apply leaves the update untouched and adds the residual; reset clears it', () => {
    const ef = new ErrorFeedback(4);
    const u = new Float32Array([1, 2, 3, 4]);
    const c = ef.apply(u);
    expect(c).toEqual(u);
    expect(c).not.toBe(u);
    ef.remember(c, encodeUpdate(c, { bits: 1, round: 0, blockSize: 4, seed: 1 }));
    expect(ef.residual.some((v) => v !== 0)).toBe(true);
    const next = ef.apply(u);
    for (let i = 0; i < 4; i++) expect(next[i]).toBeCloseTo(u[i] + ef.residual[i], 6);
    expect(u).toEqual(new Float32Array([1, 2, 3, 4]));
    ef.reset();
    expect(ef.residual.every((v) => v === 0)).toBe(true);
    expect(() => ef.apply(new Float32Array(3))).toThrow(RangeError);
  });
});
