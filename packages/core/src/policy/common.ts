// Small pure helpers the policies share: which precisions a device may take, clamping a target
// precision into them, mapping a number of quantization levels to bits.
import type { Bits } from '../bits';
import { DEFAULT_LOW_BATTERY_THRESHOLD, type Assignment, type DeviceDemand, type PolicyContext, type PrecisionOption } from './types';

export interface Candidates {
  /** Ascending; never empty. */
  bits: Bits[];
  /** Set when the device's own floor/cap left nothing, so the nearest available precision stands in. */
  note: string | null;
}

/**
 * The allowed precisions that have an option and lie within the device's floor and cap. If the
 * floor/cap exclude every available one, the available precision nearest to [minBits, maxBits]
 * stands in (with a note). A device with no option at any allowed precision is a caller bug.
 */
export function deviceCandidates(device: DeviceDemand, allowedBits: readonly Bits[]): Candidates {
  const available = [...new Set(allowedBits)].filter((b) => device.options[b] !== undefined).sort((a, b) => a - b);
  if (available.length === 0) {
    throw new Error(
      `device ${device.id}: no option at any allowed precision (allowed ${allowedBits.join(',') || 'none'}); ` +
        'the caller must give energy, latency, bytes and variance for each allowed precision',
    );
  }
  const lo = device.minBits ?? 0;
  const hi = device.maxBits ?? Infinity;
  const within = available.filter((b) => b >= lo && b <= hi);
  if (within.length > 0) return { bits: within, note: null };
  const nearest = hi < available[0] ? available[0] : available.filter((b) => b <= lo).at(-1) ?? available[0];
  return { bits: [nearest], note: `its floor/cap [${device.minBits ?? '-'}, ${device.maxBits ?? '-'}] allows no offered precision; nearest is ${nearest}` };
}

/** The highest candidate <= target, else the lowest candidate. */
export function clampBits(target: number, candidates: readonly Bits[]): Bits {
  const below = candidates.filter((b) => b <= target);
  return below.length > 0 ? below[below.length - 1] : candidates[0];
}

/** Distinct values a b-bit uniform quantizer can take above zero: 2^b - 1; float 32 counts as unbounded. */
export function levelsOf(bits: Bits): number {
  return bits >= 32 ? Infinity : 2 ** bits - 1;
}

/** The smallest allowed precision with 2^bits - 1 >= levels (the highest allowed if none has enough). */
export function levelsToBits(levels: number, allowedBits: readonly Bits[]): Bits {
  const sorted = [...allowedBits].sort((a, b) => a - b);
  return sorted.find((b) => levelsOf(b) >= levels) ?? sorted[sorted.length - 1];
}

/**
 * Low battery and not charging: the one test the aggregator's selection and every policy use.
 * Charging unknown counts as not charging: the cautious reading for a battery already low.
 */
export function batteryIsLow(state: { battery: number | null; charging: boolean | null }, threshold: number = DEFAULT_LOW_BATTERY_THRESHOLD): boolean {
  return state.battery !== null && state.battery < threshold && state.charging !== true;
}

export function isLowBattery(device: DeviceDemand, ctx: PolicyContext): boolean {
  return batteryIsLow(device, ctx.lowBatteryThreshold ?? DEFAULT_LOW_BATTERY_THRESHOLD);
}

export function optionOf(device: DeviceDemand, bits: Bits): PrecisionOption {
  const option = device.options[bits];
  if (!option) throw new Error(`device ${device.id}: no option at ${bits} bits`);
  return option;
}

export function assignmentOf(device: DeviceDemand, bits: Bits, reason: string): Assignment {
  const option = optionOf(device, bits);
  return { bits, reason, energyJ: option.energyJ, latencyS: option.latencyS, variance: option.variance };
}

/** A target precision for every device, clamped into each device's floor/cap. */
export function assignClamped(
  devices: readonly DeviceDemand[],
  ctx: PolicyContext,
  targetOf: (device: DeviceDemand) => number,
  reasonOf: (device: DeviceDemand, target: number) => string,
): Map<string, Assignment> {
  const plan = new Map<string, Assignment>();
  for (const device of devices) {
    const candidates = deviceCandidates(device, ctx.allowedBits);
    const target = targetOf(device);
    const bits = clampBits(target, candidates.bits);
    const clampNote = candidates.note ?? (bits !== target ? `clamped to ${bits} by its floor/cap or the allowed set` : null);
    plan.set(device.id, assignmentOf(device, bits, clampNote ? `${reasonOf(device, target)}; ${clampNote}` : reasonOf(device, target)));
  }
  return plan;
}
