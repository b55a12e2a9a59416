import { describe, expect, it } from 'vitest';
import { FrameError } from '../quant/frame';
import { FRAME_HEADER_BYTES, frameBytes, sealFrame } from '../quant/frame';
import { resolveSplitConfig, SplitConfigSchema } from './config';
import { dropAndPack, gradientThroughDropout, keepMask, keptCount, unpack } from './dropout';
import { splitTraffic } from './energy';
import { cutFrameBytes, decodeCut, encodeCut, splitNoise } from './frames';
import { applyMask, keepRatioFor, magnitudeMask } from './prune';
import { demandShare, splitKeepRatio } from './capacity';
import { chooseTrainingMode, modeCosts } from './choice';
import { DEFAULT_ENERGY_CONSTANTS } from '../energy/constants';

describe('split config', () => {
  it('defaults to the plain split and refuses what it cannot run', () => {
    expect(resolveSplitConfig()).toEqual({ cut: 1, dropout: 0, activationBits: 32, gradientBits: 32, keepRatio: 1, perDevice: false });
    expect(resolveSplitConfig({ keepRatio: 0.8, minKeepRatio: 0.2 }).minKeepRatio).toBe(0.2);
    const bounds = SplitConfigSchema.safeParse({ keepRatio: 0.5, minKeepRatio: 0.6 });
    expect(bounds.success).toBe(false);
    expect(bounds.error?.issues[0].path).toEqual(['minKeepRatio']);
    expect(bounds.error?.issues[0].message).toMatch(/at most keepRatio/);
    expect(SplitConfigSchema.safeParse({ dropout: 1 }).success).toBe(false);
    expect(SplitConfigSchema.safeParse({ keepRatio: 0 }).success).toBe(false);
    expect(SplitConfigSchema.safeParse({ gradientBits: 3 }).success).toBe(false);
    expect(SplitConfigSchema.safeParse({ cut: 2, extra: 1 }).success).toBe(false);
  });
});

describe('activation dropout', () => {
  it('keeps the protected prefix, drops about p of the rest, and is the same from the same seed', () => {
    const a = keepMask(20_010, 10, 0.3, 42);
    expect(a).toEqual(keepMask(20_010, 10, 0.3, 42));
    expect(a).not.toEqual(keepMask(20_010, 10, 0.3, 43));
    expect(Array.from(a.subarray(0, 10))).toEqual(new Array(10).fill(1));
    const dropped = 20_000 - (keptCount(a) - 10);
    expect(dropped / 20_000).toBeGreaterThan(0.28);
    expect(dropped / 20_000).toBeLessThan(0.32);
    expect(keptCount(keepMask(50, 5, 0, 1))).toBe(50);
  });

  it('rescales the kept values by 1/(1-p), so the mean is unbiased, and scatters back in place', () => {
    const p = 0.5;
    const values = Float32Array.from({ length: 40_002 }, (_, i) => (i < 2 ? 7 : 1));
    const mask = keepMask(values.length, 2, p, 9);
    const packed = dropAndPack(values, mask, 2, p);
    expect(packed.length).toBe(keptCount(mask));
    expect(packed[0]).toBe(7);
    expect(packed[2]).toBe(2);
    const back = unpack(packed, mask);
    let sum = 0;
    for (let i = 2; i < back.length; i++) sum += back[i];
    expect(sum / 40_000).toBeGreaterThan(0.97);
    expect(sum / 40_000).toBeLessThan(1.03);
    expect(() => unpack(packed.subarray(1), mask)).toThrow(/packed values/);
  });

  it('the gradient through dropout is the chain rule: 1/(1-p) where kept, 0 where dropped', () => {
    const p = 0.25;
    const mask = keepMask(9, 1, p, 3);
    const g = gradientThroughDropout(new Float32Array(keptCount(mask)).fill(3), mask, 1, p);
    expect(g[0]).toBe(3);
    for (let i = 1; i < 9; i++) expect(g[i]).toBe(mask[i] ? 4 : 0);
  });
});

describe('cut frames', () => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
  it('round-trip exactly at 32 bits and within the step at 8 bits, with the frame size the energy model charges', () => {
    const f32 = encodeCut(values, 32, 5, 1);
    expect(decodeCut(f32, { length: 1000, bits: 32, step: 5 })).toEqual(values);
    const f8 = encodeCut(values, 8, 5, 1);
    expect(f8.byteLength).toBe(cutFrameBytes(8, 1000));
    expect(f8.byteLength).toBeLessThan(f32.byteLength / 3);
    const back = decodeCut(f8, { length: 1000, bits: 8, step: 5 });
    for (let i = 0; i < 1000; i++) expect(Math.abs(back[i] - values[i])).toBeLessThan(2 / 127 + 1e-6);
  });
  it('refuse another step, length or precision, and a flipped byte', () => {
    const f = encodeCut(values, 8, 5, 1);
    expect(() => decodeCut(f, { length: 1000, bits: 8, step: 6 })).toThrow(FrameError);
    expect(() => decodeCut(f, { length: 999, bits: 8, step: 5 })).toThrow(FrameError);
    expect(() => decodeCut(f, { length: 1000, bits: 16, step: 5 })).toThrow(FrameError);
    const bad = f.slice();
    bad[100] ^= 1;
    expect(() => decodeCut(bad, { length: 1000, bits: 8, step: 5 })).toThrow(FrameError);
    expect(() => decodeCut(f.subarray(0, 50), { length: 1000, bits: 8, step: 5 })).toThrow(FrameError);
  });
  it('refuse a frame holding a non-finite value', () => {
    const v = values.slice();
    v[3] = NaN;
    expect(() => encodeCut(v, 32, 1, 1)).toThrow(RangeError);
    // a sender that skips the encoder's check: a NaN written into a valid float32 frame, resealed
    const f = encodeCut(values, 32, 1, 1);
    new DataView(f.buffer, f.byteOffset).setFloat32(FRAME_HEADER_BYTES + 12, NaN, true);
    const sealed = sealFrame(f);
    expect(() => decodeCut(sealed, { length: 1000, bits: 32, step: 1 })).toThrow(/NaN/);
  });
  it('the noise target is a seeded standard normal', () => {
    const a = splitNoise(77, 20_000);
    expect(a).toEqual(splitNoise(77, 20_000));
    let m = 0;
    let s = 0;
    for (const x of a) {
      m += x;
      s += x * x;
    }
    expect(Math.abs(m / a.length)).toBeLessThan(0.03);
    expect(Math.abs(s / a.length - 1)).toBeLessThan(0.05);
  });
});

describe('magnitude pruning', () => {
  it('keeps exactly the largest share by |w|', () => {
    const w = Float32Array.from([0.1, -3, 0.5, 0, 2, -0.2, 1, 1]);
    const mask = magnitudeMask(w, 0.5);
    expect(Array.from(mask)).toEqual([0, 1, 0, 0, 1, 0, 1, 1]);
    applyMask(w, mask);
    expect(Array.from(w)).toEqual([0, -3, 0, 0, 2, 0, 1, 1]);
    expect(keptCount(magnitudeMask(new Float32Array(10).fill(1), 0.3))).toBe(3);
    expect(keptCount(magnitudeMask(w, 1))).toBe(8);
    expect(() => magnitudeMask(w, 0)).toThrow(/keepRatio/);
  });
  it('keep ratio follows capacity within its floor', () => {
    expect(keepRatioFor(5, 10)).toBe(0.5);
    expect(keepRatioFor(50, 10)).toBe(1);
    expect(keepRatioFor(1, 10)).toBe(0.25);
  });
});

describe('split energy', () => {
  const base = {
    deviceMacsPerImage: 1000,
    batchSize: 8,
    steps: 4,
    keptPerStep: 3104,
    activationBits: 32 as const,
    gradientBits: 32 as const,
    deviceParams: 500,
    keepRatio: 1,
    updateBits: 32 as const,
    downlinkBits: 32 as const,
    uplinkBps: 1e6,
  };
  it('charges the device its part, its activations up and gradients down each step, and its part at round end', () => {
    const t = splitTraffic(base);
    expect(t.macs).toBe(3 * 1000 * 8 * 4);
    expect(t.uplinkBytes).toBe(4 * cutFrameBytes(32, 3104) + frameBytes(32, 500));
    expect(t.downlinkBytes).toBe(4 * cutFrameBytes(32, 3104) + frameBytes(32, 500));
  });
  it('pruning, dropout and quantized gradients all shrink it', () => {
    const plain = splitTraffic(base);
    const light = splitTraffic({ ...base, keepRatio: 0.5, keptPerStep: 1600, gradientBits: 8 });
    expect(light.macs).toBe(plain.macs / 2);
    expect(light.uplinkBytes).toBeLessThan(plain.uplinkBytes);
    expect(light.downlinkBytes).toBeLessThan(plain.downlinkBytes / 3);
  });
});

describe('keep ratio from capacity', () => {
  const base = { fullMacsPerStep: 1e9, steps: 10, budgetS: 10, linkSPerStep: 0.2, share: 1, min: 0.25, max: 1 };
  it('a slower device keeps less of its part, within the run bounds', () => {
    // 1 s per step minus 0.2 s of link: 0.8 s of compute
    const fast = splitKeepRatio({ ...base, macsPerSecond: 5e9 });
    const slow = splitKeepRatio({ ...base, macsPerSecond: 1e9 });
    expect(fast).toBe(1);
    expect(slow).toBeCloseTo(0.8, 12);
    expect(splitKeepRatio({ ...base, macsPerSecond: 1e8 })).toBe(0.25);
    expect(splitKeepRatio({ ...base, macsPerSecond: 5e9, max: 0.6 })).toBe(0.6);
    // a link so slow that no compute time is left: the floor
    expect(splitKeepRatio({ ...base, macsPerSecond: 5e9, linkSPerStep: 2 })).toBe(0.25);
  });
  it('the demand counts: saving battery or a low battery halves the time spent computing', () => {
    expect(demandShare({ battery: 0.9, charging: false, preference: 'balanced' })).toBe(1);
    expect(demandShare({ battery: 0.9, charging: false, preference: 'save-battery' })).toBe(0.5);
    expect(demandShare({ battery: 0.1, charging: false, preference: 'save-battery' })).toBe(0.25);
    expect(demandShare({ battery: 0.1, charging: true, preference: 'balanced' })).toBe(1);
    const rate = { ...base, macsPerSecond: 1e9, linkSPerStep: 0 };
    expect(splitKeepRatio({ ...rate, share: 0.5 })).toBeCloseTo(0.5, 12);
  });
});

describe('full or split, per device', () => {
  it('meeting the deadline first, then the lower energy, else the faster', () => {
    expect(chooseTrainingMode({ energyJ: 1, latencyS: 50 }, { energyJ: 2, latencyS: 5 }, 20).mode).toBe('split');
    expect(chooseTrainingMode({ energyJ: 1, latencyS: 5 }, { energyJ: 2, latencyS: 5 }, 20).mode).toBe('full');
    expect(chooseTrainingMode({ energyJ: 3, latencyS: 5 }, { energyJ: 2, latencyS: 5 }, 20).mode).toBe('split');
    const neither = chooseTrainingMode({ energyJ: 1, latencyS: 50 }, { energyJ: 2, latencyS: 30 }, 20);
    expect(neither.mode).toBe('split');
    expect(neither.reason).toMatch(/neither meets the 20 s deadline/);
  });
  it('priced by the energy model: a slow phone on a fast link splits, a laptop on a slow link trains whole', () => {
    const common = {
      energy: DEFAULT_ENERGY_CONSTANTS,
      bits: 8 as const,
      trainBits: 32,
      fullMacs: 3 * 7.78e6 * 8 * 10,
      paramCount: 75_589,
      blockSize: 256,
      modelBytes: frameBytes(16, 75_589),
      split: { deviceMacsPerImage: 693_632, batchSize: 8, steps: 10, keptPerStep: 8 * 6176, activationBits: 32 as const, gradientBits: 32 as const, deviceParams: 5292, keepRatio: 1, downlinkBits: 16 as const },
    };
    const phone = modeCosts({ ...common, device: { deviceClass: 'phone', macsPerSecond: 5e7, transmitPowerW: 0.2 }, uplinkBps: 100e6 });
    const phoneChoice = chooseTrainingMode(phone.full, phone.split, 20);
    expect(phone.full.latencyS).toBeGreaterThan(20);
    expect(phoneChoice.mode).toBe('split');
    const laptop = modeCosts({ ...common, device: { deviceClass: 'laptop', transmitPowerW: 0.1 }, uplinkBps: 10e6 });
    expect(chooseTrainingMode(laptop.full, laptop.split, 20).mode).toBe('full');
    // the split side is charged its part's MACs only: 3 x front MACs x batch x steps at the laptop's class factor
    expect(laptop.split.energyJ).toBeGreaterThan(laptop.full.energyJ);
  });
});
