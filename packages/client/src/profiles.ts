// Seeded heterogeneous device profiles for headless simulation: a mix of phones, laptops and
// desktops with different batteries, charging states, uplink rates and transmit powers. The same
// seed gives the same fleet, so every policy in an experiment meets the same devices.
import { z } from 'zod';
import { DEVICE_CLASSES, PREFERENCES, mulberry32 as rng } from '@fedbit/core';
import type { DeviceProfile } from './telemetry';
import { AttackSchema } from './attack';

const logUniform = (r: () => number, lo: number, hi: number) => Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)));

export function generateProfiles(count: number, seed: number): DeviceProfile[] {
  const r = rng(seed * 2654435761 + 17);
  const profiles: DeviceProfile[] = [];
  for (let i = 0; i < count; i++) {
    const u = r();
    const deviceClass = u < 0.6 ? 'phone' : u < 0.9 ? 'laptop' : 'desktop';
    const charging = deviceClass === 'desktop' ? null : r() < 0.35;
    const battery = deviceClass === 'desktop' ? null : Math.round((0.08 + 0.92 * r()) * 100) / 100;
    const p = r();
    const preference = p < 0.25 ? 'save-battery' : p < 0.8 ? 'balanced' : 'best-quality';
    // Uplink rates: cellular phones 1-20 Mbit/s, laptops on Wi-Fi 5-50, desktops 20-100.
    const [lo, hi] = deviceClass === 'phone' ? [1e6, 20e6] : deviceClass === 'laptop' ? [5e6, 50e6] : [20e6, 100e6];
    const uplinkBps = Math.round(logUniform(r, lo, hi));
    // 3GPP power class 3 (23 dBm) for phones; Wi-Fi radios of laptops and desktops about 20 dBm.
    const transmitPowerW = deviceClass === 'phone' ? 0.2 : 0.1;
    profiles.push({
      name: `${deviceClass}-${String(i + 1).padStart(2, '0')}`,
      deviceClass,
      battery,
      charging,
      preference,
      uplinkBps,
      transmitPowerW,
      drainPerRound: deviceClass === 'phone' ? 0.01 : 0.005,
    });
  }
  return profiles;
}

export const DeviceProfileSchema = z
  .object({
    name: z.string().min(1).max(64),
    deviceClass: z.enum(DEVICE_CLASSES),
    battery: z.number().min(0).max(1).nullable(),
    charging: z.boolean().nullable(),
    preference: z.enum(PREFERENCES),
    uplinkBps: z.number().positive().max(1e11),
    transmitPowerW: z.number().positive().max(10),
    macsPerSecond: z.number().positive().optional(),
    drainPerRound: z.number().min(0).max(1).optional(),
    /** Simulation only: the device runs this many times slower than the machine. */
    slowdown: z.number().min(1).max(1000).optional(),
    /** Robustness experiment only: a Byzantine device that distorts its updates (attack.ts). */
    attack: AttackSchema.optional(),
  })
  .strict();

export const DeviceProfilesSchema = z.array(DeviceProfileSchema).min(1);
