// The energy model's constants, each named once here with its source. Every number is
// modelled, not measured: a run's config may override any of them (EnergyConstantsSchema).
import { z } from 'zod';

import { DEVICE_CLASSES, type DeviceClass } from '../vocabulary';

export { DEVICE_CLASSES, type DeviceClass };

export const DEFAULT_ENERGY_CONSTANTS = Object.freeze({
  /**
   * Energy of one FP32 multiply-add, joules: 3.7 pJ fp32 multiply + 0.9 pJ fp32 add at 45 nm
   * (Horowitz, "Computing's energy problem", ISSCC 2014).
   */
  macEnergy32J: 4.6e-12,
  /**
   * alpha in e_MAC(n) = e_32 * (n/32)^alpha: MAC energy grows slightly faster than linearly in the
   * word length (Moons et al., "Minimum energy quantized neural networks", arXiv 1711.00215, 2017).
   */
  bitsExponent: 1.25,
  /**
   * Multiplier on the MAC energy for memory traffic (assumption). Horowitz (ISSCC 2014): a 32-bit
   * read from an 8 KB SRAM costs about 5 pJ (about one FP32 MAC), from DRAM about 640 pJ (about
   * 140 MACs). A conv net reuses each operand many times from registers and caches, so we assume
   * memory adds one to three MAC-equivalents per MAC: desktops (large caches, wide GPU memory)
   * least, phones (small caches, shared LPDDR, a browser's WebGPU/WebGL tiling) most. The factor
   * multiplies e_MAC(n), so, like the operand bytes moved, it shrinks with the precision.
   */
  classFactor: Object.freeze({ phone: 4, laptop: 3, desktop: 2 }),
  /** Uplink transmit power, watts: 23 dBm, 3GPP TS 36.101 UE power class 3 (a handset's maximum). */
  transmitPowerW: 0.2,
  /**
   * Energy of receiving one bit of the downlink (the global model), joules: 51.97 mW per Mbit/s of
   * LTE downlink throughput, the rate-proportional term of the measured LTE power model of Huang et
   * al., "A Close Examination of Performance and Power Characteristics of 4G LTE Networks"
   * (MobiSys 2012, Table 3), i.e. 5.2e-8 J/bit. As for the uplink, only the radio's share for the
   * data is charged, not the phone's baseline or the radio's tail time.
   */
  receiveEnergyPerBitJ: 5.197e-8,
  /**
   * Effective training throughput, MAC/s, where a device does not report its own (assumption,
   * round numbers for tfjs in a browser tab: a phone GPU through WebGPU, an integrated laptop
   * GPU, a desktop discrete GPU; far below peak because small kernels are dispatch-bound).
   */
  macsPerSecond: Object.freeze({ phone: 5e9, laptop: 2e10, desktop: 5e10 }),
  /**
   * Uplink rate, bits/s, until a device's own transfers have been measured (assumption: 10 Mbit/s,
   * the order of the global median mobile upload speed in Ookla's Speedtest Global Index, 2024).
   */
  defaultUplinkBps: 1e7,
});

const positive = (what: string) => z.number({ error: `${what} must be a number` }).positive(`${what} must be > 0`).finite();

function perClass(what: string, defaults: Readonly<Record<DeviceClass, number>>) {
  return z
    .object({
      phone: positive(what).default(defaults.phone),
      laptop: positive(what).default(defaults.laptop),
      desktop: positive(what).default(defaults.desktop),
    })
    .strict()
    .prefault({});
}

/**
 * Validates a run's energy constants; every field is optional and falls back to
 * DEFAULT_ENERGY_CONSTANTS (per device class too), unknown fields are refused.
 */
export const EnergyConstantsSchema = z
  .object({
    macEnergy32J: positive('macEnergy32J (joules per FP32 MAC)').default(DEFAULT_ENERGY_CONSTANTS.macEnergy32J),
    bitsExponent: positive('bitsExponent (alpha)').default(DEFAULT_ENERGY_CONSTANTS.bitsExponent),
    classFactor: perClass('classFactor', DEFAULT_ENERGY_CONSTANTS.classFactor),
    transmitPowerW: positive('transmitPowerW (watts)').default(DEFAULT_ENERGY_CONSTANTS.transmitPowerW),
    receiveEnergyPerBitJ: positive('receiveEnergyPerBitJ (joules per bit received)').default(DEFAULT_ENERGY_CONSTANTS.receiveEnergyPerBitJ),
    macsPerSecond: perClass('macsPerSecond', DEFAULT_ENERGY_CONSTANTS.macsPerSecond),
    defaultUplinkBps: positive('defaultUplinkBps (bits per second)').default(DEFAULT_ENERGY_CONSTANTS.defaultUplinkBps),
  })
  .strict();

/** The energy model's constants, resolved (every field present). */
export type EnergyConstants = z.output<typeof EnergyConstantsSchema>;

/** Defaults plus a config's overrides, validated; throws a ZodError naming the bad field. */
export function resolveEnergyConstants(overrides: unknown = {}): EnergyConstants {
  return EnergyConstantsSchema.parse(overrides ?? {});
}
