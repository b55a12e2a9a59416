import { describe, expect, it } from 'vitest';
import { WeightEma, emaDecayAt } from './ema';
import { learningRateAt } from './lr-schedule';

describe('weight EMA', () => {
  it('starts at the first weights, warms its decay up, then averages at the target decay', () => {
    const ema = new WeightEma({ decay: 0.9 });
    expect(ema.value).toBeNull();
    ema.update(new Float32Array([10, -10]));
    expect([...ema.value!]).toEqual([10, -10]);
    // second update: decay min(0.9, 2/11)
    ema.update(new Float32Array([0, 0]));
    const d = 2 / 11;
    expect(ema.value![0]).toBeCloseTo(10 * d, 5);
    expect(emaDecayAt(0.9, 1000)).toBe(0.9);
    expect(emaDecayAt(0.9, 0)).toBeCloseTo(0.1, 12);
    expect(emaDecayAt(0.9, 0, false)).toBe(0.9);
    // a constant input is a fixed point
    const still = new WeightEma({ decay: 0.99 });
    for (let i = 0; i < 50; i++) still.update(new Float32Array([3]));
    expect(still.value![0]).toBeCloseTo(3, 6);
    expect(still.updates).toBe(50);
  });

  it('averages away noise around a target that the last iterate keeps', () => {
    const ema = new WeightEma({ decay: 0.95 });
    let seed = 7;
    const noise = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;
    let last = 0;
    for (let i = 0; i < 400; i++) {
      last = 1 + noise();
      ema.update(new Float32Array([last]));
    }
    expect(Math.abs(ema.value![0] - 1)).toBeLessThan(0.2);
  });

  it('clones independently, restores from a checkpoint and refuses bad input', () => {
    const ema = new WeightEma({ decay: 0.5, warmup: false });
    ema.update(new Float32Array([1]));
    const copy = ema.clone();
    copy.update(new Float32Array([3]));
    expect(ema.value![0]).toBe(1);
    expect(copy.value![0]).toBe(2);
    const back = WeightEma.restore({ decay: 0.5, warmup: false }, copy.value!, copy.updates);
    back.update(new Float32Array([4]));
    expect(back.value![0]).toBe(3);
    expect(back.updates).toBe(3);
    expect(() => ema.update(new Float32Array(2))).toThrow(/2 values; the average has 1/);
    expect(() => new WeightEma({ decay: 1 })).toThrow(/\[0, 1\)/);
    expect(() => new WeightEma({ decay: Number.NaN })).toThrow(/\[0, 1\)/);
    expect(() => WeightEma.restore({ decay: 0.5 }, new Float32Array(1), 0)).toThrow(/updates/);
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, decays along a cosine to its floor, and stays there', () => {
    const spec = { kind: 'cosine' as const, warmup: 10, total: 110, floor: 0.1 };
    expect(learningRateAt(1, spec, 0)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(1, spec, 9)).toBeCloseTo(1, 12);
    expect(learningRateAt(1, spec, 10)).toBeCloseTo(1, 12);
    expect(learningRateAt(1, spec, 60)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(1, spec, 110)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(1, spec, 500)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(2e-3, { kind: 'constant' }, 99)).toBe(2e-3);
    expect(() => learningRateAt(1, { kind: 'cosine', warmup: 5, total: 5 }, 6)).toThrow(/total/);
  });
});
