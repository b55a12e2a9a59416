import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  DEFAULT_ENERGY_CONSTANTS,
  EnergyConstantsSchema,
  computeEnergyJ,
  dbmToWatts,
  deviceRoundCost,
  macEnergyJ,
  receiveEnergyJ,
  resolveEnergyConstants,
  transmitEnergyJ,
  wattsToDbm,
} from './index';

describe('energy constants', () => {
  it('hold the documented numbers', () => {
    expect(DEFAULT_ENERGY_CONSTANTS.macEnergy32J).toBe(3.7e-12 + 0.9e-12);
    expect(DEFAULT_ENERGY_CONSTANTS.bitsExponent).toBe(1.25);
    expect(DEFAULT_ENERGY_CONSTANTS.transmitPowerW).toBeCloseTo(dbmToWatts(23), 2);
    expect(macEnergyJ(32)).toBeCloseTo(4.6e-12, 20);
    expect(macEnergyJ(8)).toBeCloseTo(4.6e-12 * 0.25 ** 1.25, 20);
    expect(macEnergyJ(1)).toBeCloseTo(4.6e-12 * (1 / 32) ** 1.25, 22);
  });

  it('validate overrides, fill defaults per field and per device class, and name a bad field', () => {
    expect(EnergyConstantsSchema.parse({})).toEqual(DEFAULT_ENERGY_CONSTANTS);
    const c = resolveEnergyConstants({ macsPerSecond: { phone: 1e9 }, transmitPowerW: 0.1 });
    expect(c.macsPerSecond).toEqual({ phone: 1e9, laptop: 2e10, desktop: 5e10 });
    expect(c.transmitPowerW).toBe(0.1);
    expect(c.macEnergy32J).toBe(DEFAULT_ENERGY_CONSTANTS.macEnergy32J);
    const bad = EnergyConstantsSchema.safeParse({ classFactor: { phone: -1 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['classFactor', 'phone']);
    expect(() => resolveEnergyConstants({ transmitPower: 1 })).toThrow(ZodError);
  });
});

describe('energy model', () => {
  it('converts dBm to watts and back', () => {
    expect(dbmToWatts(30)).toBeCloseTo(1, 12);
    expect(dbmToWatts(0)).toBeCloseTo(1e-3, 15);
    expect(dbmToWatts(23)).toBeCloseTo(0.19953, 5);
    expect(wattsToDbm(dbmToWatts(17.5))).toBeCloseTo(17.5, 10);
  });

  it('is strictly increasing in bits, for MACs and for a round', () => {
    const bits = [1, 2, 4, 8, 16, 32];
    const mac = bits.map((b) => macEnergyJ(b));
    const cmp = bits.map((b) => computeEnergyJ(1e9, b, 'phone'));
    for (let i = 1; i < bits.length; i++) {
      expect(mac[i]).toBeGreaterThan(mac[i - 1]);
      expect(cmp[i]).toBeGreaterThan(cmp[i - 1]);
    }
    expect(() => macEnergyJ(0)).toThrow(RangeError);
    expect(() => macEnergyJ(64)).toThrow(/bits must be in/);
  });

  it('applies the device-class factor multiplicatively', () => {
    const f = DEFAULT_ENERGY_CONSTANTS.classFactor;
    expect(computeEnergyJ(1e6, 8, 'phone')).toBeCloseTo(1e6 * macEnergyJ(8) * f.phone, 18);
    expect(computeEnergyJ(1e6, 8, 'phone') / computeEnergyJ(1e6, 8, 'desktop')).toBeCloseTo(f.phone / f.desktop, 12);
  });

  it('transmit energy is linear in bytes and inverse in rate', () => {
    const e = transmitEnergyJ(1e6, 1e7, 0.2);
    expect(e).toBeCloseTo((0.2 * 8e6) / 1e7, 12);
    expect(transmitEnergyJ(3e6, 1e7, 0.2)).toBeCloseTo(3 * e, 12);
    expect(transmitEnergyJ(1e6, 4e7, 0.2)).toBeCloseTo(e / 4, 12);
    expect(() => transmitEnergyJ(1e6, 0, 0.2)).toThrow(/uplinkBps/);
  });

  it('a round sums compute and transmit, in joules and in seconds', () => {
    const cost = deviceRoundCost({
      macs: 2e9,
      trainBits: 8,
      frameBytes: 125_000,
      uplinkBps: 1e6,
      transmitPowerW: 0.2,
      macsPerSecond: 5e9,
      deviceClass: 'laptop',
    });
    expect(cost.computeJ).toBeCloseTo(2e9 * macEnergyJ(8) * DEFAULT_ENERGY_CONSTANTS.classFactor.laptop, 15);
    expect(cost.transmitJ).toBeCloseTo(0.2, 12);
    expect(cost.energyJ).toBeCloseTo(cost.computeJ + cost.transmitJ, 15);
    expect(cost.computeS).toBeCloseTo(0.4, 12);
    expect(cost.transmitS).toBeCloseTo(1, 12);
    expect(cost.latencyS).toBeCloseTo(1.4, 12);
  });

  it('charges the downlink: bits received times the per-bit receive energy, the same for every upload precision', () => {
    expect(DEFAULT_ENERGY_CONSTANTS.receiveEnergyPerBitJ).toBe(5.197e-8);
    expect(receiveEnergyJ(1e6, 5e-8)).toBeCloseTo(0.4, 12);
    expect(receiveEnergyJ(0, 5e-8)).toBe(0);
    expect(() => receiveEnergyJ(-1, 5e-8)).toThrow(RangeError);
    const base = { macs: 1e6, frameBytes: 1000, uplinkBps: 1e6, transmitPowerW: 0.2, macsPerSecond: 5e9, deviceClass: 'phone' as const };
    const model = 302_000; // a tiny model's lossless downlink frame
    const at4 = deviceRoundCost({ ...base, trainBits: 8, downlinkBytes: model });
    const at32 = deviceRoundCost({ ...base, trainBits: 32, downlinkBytes: model });
    expect(at4.receiveJ).toBeCloseTo(model * 8 * 5.197e-8, 12);
    expect(at4.receiveJ).toBe(at32.receiveJ);
    expect(at4.energyJ).toBeCloseTo(at4.computeJ + at4.transmitJ + at4.receiveJ, 15);
    expect(deviceRoundCost({ ...base, trainBits: 8 }).receiveJ).toBe(0);
  });
});
