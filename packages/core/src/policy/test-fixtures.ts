// Random heterogeneous devices for the policy tests (not exported from the package). Bytes and
// variances come from a local stand-in for the codec's formulas, energy and latency from the
// real energy model.
import { ALL_BITS, type Bits } from '../bits';
import { mulberry32 } from '../random/index';
import { DEVICE_CLASSES } from '../vocabulary';
import { DEFAULT_ENERGY_CONSTANTS, deviceRoundCost } from '../energy';
import type { DeviceDemand, PolicyContext, PrecisionOption } from './types';

/** Seeded, so every instance can be replayed from its seed. */
export const rng = mulberry32;

export function testFrameBytes(bits: Bits, length: number): number {
  if (bits <= 8) return 32 + Math.ceil((length * bits) / 8) + 4 * Math.ceil(length / 256);
  return bits === 16 ? 2 * length + 32 : 4 * length + 32;
}

export function testVariance(bits: Bits, normSq: number): number {
  if (bits <= 8) return (256 * normSq) / (2 ** bits - 1) ** 2;
  return bits === 16 ? normSq * 2 ** -22 : 0;
}

export interface DeviceProfile extends Omit<DeviceDemand, 'options'> {
  deviceClass: (typeof DEVICE_CLASSES)[number];
  uplinkBps: number;
  macs: number;
}

export const PARAMS = 110_000;

export function optionsFor(p: DeviceProfile, allowedBits: readonly Bits[] = ALL_BITS): DeviceDemand['options'] {
  const options: DeviceDemand['options'] = {};
  for (const bits of allowedBits) {
    const frameBytes = testFrameBytes(bits, PARAMS);
    const cost = deviceRoundCost({
      macs: p.macs,
      trainBits: Math.max(bits, 8),
      frameBytes,
      uplinkBps: p.uplinkBps,
      transmitPowerW: DEFAULT_ENERGY_CONSTANTS.transmitPowerW,
      macsPerSecond: DEFAULT_ENERGY_CONSTANTS.macsPerSecond[p.deviceClass],
      deviceClass: p.deviceClass,
    });
    const option: PrecisionOption = { energyJ: cost.energyJ, latencyS: cost.latencyS, frameBytes, variance: testVariance(bits, p.updateNormSq) };
    options[bits] = option;
  }
  return options;
}

export function demandOf(p: DeviceProfile): DeviceDemand {
  const { deviceClass: _c, uplinkBps: _u, macs: _m, ...demand } = p;
  return { ...demand, options: optionsFor(p) };
}

const logUniform = (r: () => number, lo: number, hi: number) => lo * (hi / lo) ** r();
const pick = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)];

export function randomProfiles(seed: number, count = 10, opts: { caps?: boolean } = {}): DeviceProfile[] {
  const r = rng(seed);
  const raw = Array.from({ length: count }, () => logUniform(r, 1, 20));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w, i) => {
    const battery = r() < 0.2 ? null : r();
    const profile: DeviceProfile = {
      id: `d${i}`,
      weight: w / total,
      battery,
      charging: battery === null ? null : r() < 0.4,
      preference: pick(r, ['save-battery', 'balanced', 'best-quality'] as const),
      updateNormSq: logUniform(r, 0.1, 10),
      deviceClass: pick(r, DEVICE_CLASSES),
      uplinkBps: logUniform(r, 2e5, 5e7),
      macs: logUniform(r, 1e9, 5e10),
    };
    if (opts.caps && r() < 0.2) profile.maxBits = pick(r, [4, 8, 16] as const);
    if (opts.caps && r() < 0.15) profile.minBits = pick(r, [2, 4] as const);
    return profile;
  });
}

export function randomContext(seed: number): PolicyContext {
  const r = rng(seed ^ 0x5eed);
  return { round: 1, totalRounds: 10, allowedBits: [...ALL_BITS], deadlineS: logUniform(r, 2, 30), lossHistory: [], lowBatteryThreshold: 0.2 };
}

/** errorBound log-uniform in [0.003, 30]: from "everyone near 8 bits" to "most can drop to 1-2 bits". */
export function randomErrorBound(seed: number): number {
  return logUniform(rng(seed ^ 0xe44), 0.003, 30);
}
