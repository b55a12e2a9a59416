// The one place where a device's round becomes the energy model's inputs. The aggregator (to plan
// precisions and to account what arrived) and the device (to show its own modelled energy) both
// call these, so the two always agree on the same round.
import type { DeviceClass } from '../vocabulary';
import type { EnergyConstants } from './constants';
import { deviceRoundCost, type DeviceRoundCost, type DeviceRoundInput } from './model';

/** What the energy model needs to know of a device; absent figures fall back to the constants' defaults for its class. */
export interface DeviceEnergyProfile {
  deviceClass: DeviceClass;
  transmitPowerW?: number;
  macsPerSecond?: number;
}

/** Quantization-aware training runs at the upload precision, never below the run's floor; without QAT it is float (32). */
export function trainBitsFor(uploadBits: number, qat: { enabled: boolean; minTrainBits: number }): number {
  return qat.enabled ? Math.max(uploadBits, qat.minTrainBits) : 32;
}

export interface RoundWork {
  /**
   * Multiply-adds of the round's local training: macsPerTrainStep(model, batch) * local steps, or
   * for a LoRA run macsPerLoraTrainStep (packages/diffusion/src/lora-config.ts: the backward through
   * the frozen base costs what full training's does; Kaplan et al., arXiv 2001.08361).
   */
  macs: number;
  trainBits: number;
  frameBytes: number;
  /** Bytes of the global model the device received for this round; absent = 0. */
  downlinkBytes?: number;
  /** The device's measured (smoothed) uplink rate, bits per second. */
  uplinkBps: number;
}

export function deviceCostInput(work: RoundWork, device: DeviceEnergyProfile, constants: EnergyConstants): DeviceRoundInput {
  return {
    macs: work.macs,
    trainBits: work.trainBits,
    frameBytes: work.frameBytes,
    downlinkBytes: work.downlinkBytes ?? 0,
    uplinkBps: work.uplinkBps,
    transmitPowerW: device.transmitPowerW ?? constants.transmitPowerW,
    macsPerSecond: device.macsPerSecond ?? constants.macsPerSecond[device.deviceClass],
    deviceClass: device.deviceClass,
  };
}

/** A device's modelled energy and latency for one round of `work`. */
export function costOfRound(work: RoundWork, device: DeviceEnergyProfile, constants: EnergyConstants): DeviceRoundCost {
  return deviceRoundCost(deviceCostInput(work, device, constants), constants);
}
