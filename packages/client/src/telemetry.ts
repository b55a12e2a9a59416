// What a device says about itself: battery, charging, the person's preference, its class and a
// connection hint. In a browser, navigator.getBattery where it exists (Chromium) and otherwise
// "not reported" plus the person's own choice; in Node, a simulated profile.
import type { DeviceClass, Preference, Telemetry } from '@fedbit/core';
import type { Attack } from './attack';

export type { DeviceClass, Preference };

export interface TelemetrySource {
  read(): Promise<Omit<Telemetry, 'lastUpload'>>;
}

interface BatteryManagerLike {
  level: number;
  charging: boolean;
}

export interface NavigatorLike {
  userAgent?: string;
  getBattery?: () => Promise<BatteryManagerLike>;
  connection?: { downlink?: number; effectiveType?: string };
  hardwareConcurrency?: number;
}

export function guessDeviceClass(userAgent: string): DeviceClass {
  return /Android|iPhone|iPad|Mobile/i.test(userAgent) ? 'phone' : 'laptop';
}

/** navigator.connection as a hint (Chromium caps downlink at 10 Mbit/s): the aggregator prefers measured rates. */
export function connectionHint(nav: NavigatorLike): Telemetry['connectionHint'] {
  const connection = nav.connection;
  return connection && (connection.downlink !== undefined || connection.effectiveType)
    ? { downlinkMbps: connection.downlink, effectiveType: connection.effectiveType?.slice(0, 16) }
    : undefined;
}

/** Browser telemetry; `preference` is read each time so the person can change it mid-run. */
export function browserTelemetry(getPreference: () => Preference, nav: NavigatorLike = globalThis.navigator as NavigatorLike): TelemetrySource {
  let battery: BatteryManagerLike | null | undefined;
  return {
    async read() {
      if (battery === undefined) {
        try {
          battery = nav.getBattery ? await nav.getBattery() : null;
        } catch {
          battery = null;
        }
      }
      return {
        battery: battery ? battery.level : null,
        charging: battery ? battery.charging : null,
        preference: getPreference(),
        deviceClass: guessDeviceClass(nav.userAgent ?? ''),
        connectionHint: connectionHint(nav),
      };
    },
  };
}

/** A simulated device's profile: what it reports, and the link it is shaped to in Node. */
export interface DeviceProfile {
  name: string;
  deviceClass: DeviceClass;
  battery: number | null;
  charging: boolean | null;
  preference: Preference;
  /** Uplink rate the simulated link is paced at, bits per second. */
  uplinkBps: number;
  transmitPowerW: number;
  macsPerSecond?: number;
  /** Battery drain per round while not charging (fraction of full), so a long run sees batteries fall. */
  drainPerRound?: number;
  /** Simulation only: the device runs this many times slower than the machine. */
  slowdown?: number;
  /** Robustness experiment only: a Byzantine device that distorts its updates (attack.ts). */
  attack?: Attack;
}

export function simulatedTelemetry(profile: DeviceProfile): TelemetrySource & { drain(): void } {
  let battery = profile.battery;
  return {
    async read() {
      return {
        battery,
        charging: profile.charging,
        preference: profile.preference,
        deviceClass: profile.deviceClass,
        transmitPowerW: profile.transmitPowerW,
        macsPerSecond: profile.macsPerSecond,
      };
    },
    drain() {
      if (battery !== null && !profile.charging && profile.drainPerRound) battery = Math.max(0, battery - profile.drainPerRound);
    },
  };
}
