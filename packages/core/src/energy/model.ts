// A device's modelled energy and latency for one round (DESIGN.md, "The energy model"):
//   E_cmp = MACs * e_MAC(n_t) * classFactor,  e_MAC(n) = e_32 * (n/32)^alpha
//   E_com = p * Z / r                          (Z = frame bytes * 8, r = uplink bits/s)
//   E_rx  = e_rx * D                           (D = bits of the global model received)
//   T     = MACs / macsPerSecond + Z / r
// Pure functions; the constants and their sources are in ./constants.
import { DEFAULT_ENERGY_CONSTANTS, type DeviceClass, type EnergyConstants } from './constants';

export function dbmToWatts(dbm: number): number {
  return 10 ** ((dbm - 30) / 10);
}

export function wattsToDbm(watts: number): number {
  if (!(watts > 0)) throw new RangeError(`wattsToDbm: power must be > 0 W, got ${watts}`);
  return 10 * Math.log10(watts) + 30;
}

type MacConstants = Pick<EnergyConstants, 'macEnergy32J' | 'bitsExponent'>;

/** Energy of one multiply-add at `bits` of precision, joules (no memory factor). */
export function macEnergyJ(bits: number, constants: MacConstants = DEFAULT_ENERGY_CONSTANTS): number {
  if (!(bits > 0 && bits <= 32)) throw new RangeError(`macEnergyJ: bits must be in (0, 32], got ${bits}`);
  return constants.macEnergy32J * (bits / 32) ** constants.bitsExponent;
}

/** Modelled training energy of `macs` multiply-adds at `trainBits` on a device of this class, joules. */
export function computeEnergyJ(
  macs: number,
  trainBits: number,
  deviceClass: DeviceClass,
  constants: Pick<EnergyConstants, 'macEnergy32J' | 'bitsExponent' | 'classFactor'> = DEFAULT_ENERGY_CONSTANTS,
): number {
  nonNegative('macs', macs);
  return macs * macEnergyJ(trainBits, constants) * constants.classFactor[deviceClass];
}

/** Seconds to send `frameBytes` at `uplinkBps` bits per second. */
export function transmitSeconds(frameBytes: number, uplinkBps: number): number {
  nonNegative('frameBytes', frameBytes);
  positive('uplinkBps', uplinkBps);
  return (frameBytes * 8) / uplinkBps;
}

/** Modelled radio energy of sending `frameBytes` at `uplinkBps` with `transmitPowerW`, joules. */
export function transmitEnergyJ(frameBytes: number, uplinkBps: number, transmitPowerW: number): number {
  nonNegative('transmitPowerW', transmitPowerW);
  return transmitPowerW * transmitSeconds(frameBytes, uplinkBps);
}

/** Modelled radio energy of receiving `bytes` of downlink, joules (rate-independent per-bit cost). */
export function receiveEnergyJ(bytes: number, receiveEnergyPerBitJ: number): number {
  nonNegative('bytes', bytes);
  nonNegative('receiveEnergyPerBitJ', receiveEnergyPerBitJ);
  return bytes * 8 * receiveEnergyPerBitJ;
}

export interface DeviceRoundInput {
  /** Multiply-adds of the round's local training (model, batch, local steps). */
  macs: number;
  /** Precision of local training, bits (32 = float training). */
  trainBits: number;
  /** Exact bytes of the encoded update frame. */
  frameBytes: number;
  /** Bytes of the global model the device received for this round (0 when it reused its copy). */
  downlinkBytes?: number;
  uplinkBps: number;
  transmitPowerW: number;
  /** Effective training throughput of this device. */
  macsPerSecond: number;
  deviceClass: DeviceClass;
}

export interface DeviceRoundCost {
  computeJ: number;
  transmitJ: number;
  /** Receiving the global model. */
  receiveJ: number;
  /** computeJ + transmitJ + receiveJ: modelled, not measured. */
  energyJ: number;
  computeS: number;
  transmitS: number;
  /** computeS + transmitS. */
  latencyS: number;
}

/** One device's modelled energy and latency for one round. */
export function deviceRoundCost(input: DeviceRoundInput, constants: EnergyConstants = DEFAULT_ENERGY_CONSTANTS): DeviceRoundCost {
  positive('macsPerSecond', input.macsPerSecond);
  const computeJ = computeEnergyJ(input.macs, input.trainBits, input.deviceClass, constants);
  const transmitJ = transmitEnergyJ(input.frameBytes, input.uplinkBps, input.transmitPowerW);
  const receiveJ = receiveEnergyJ(input.downlinkBytes ?? 0, constants.receiveEnergyPerBitJ);
  const computeS = input.macs / input.macsPerSecond;
  const transmitS = transmitSeconds(input.frameBytes, input.uplinkBps);
  return { computeJ, transmitJ, receiveJ, energyJ: computeJ + transmitJ + receiveJ, computeS, transmitS, latencyS: computeS + transmitS };
}

function nonNegative(name: string, value: number): void {
  if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
}

function positive(name: string, value: number): void {
  if (!(value > 0 && Number.isFinite(value))) throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
}
