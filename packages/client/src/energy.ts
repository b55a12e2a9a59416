// The device page's own modelled energy and bytes for an upload. The inputs come from core's
// costOfRound (packages/core/src/energy/device-cost.ts), the same call the aggregator accounts the
// round with, so the page and the dashboard show the same joules for the same update.
import { costOfRound, frameBytes, type DeviceEnergyProfile, type DeviceTotals, type EnergyConstants, type Task } from '@fedbit/core';
import { macsPerTrainStep, type DiffusionModel } from '@fedbit/diffusion';

export interface UploadCost {
  computeJ: number;
  transmitJ: number;
  receiveJ: number;
  energyJ: number;
  bytes: number;
  /** What the same update would have sent at 32 bits. */
  fp32Bytes: number;
}

export interface UploadWork {
  model: DiffusionModel;
  task: Task;
  /** Local steps actually trained (a time budget may cut them short). */
  steps: number;
  /** What was sent: the frame, or in a secure round everything its four steps sent. */
  frame: Pick<Uint8Array, 'byteLength'>;
  /** Bytes of the global model this task brought down. */
  downlinkBytes: number;
  /** The device's smoothed uplink rate; null before any transfer was timed. */
  uplinkBps: number | null;
}

/** Modelled joules of one upload on this device (not measured: the page says so). */
export function costOfUpload(work: UploadWork, device: DeviceEnergyProfile, energy: EnergyConstants): UploadCost {
  const { model, task, steps, frame } = work;
  const cost = costOfRound(
    {
      macs: macsPerTrainStep(model.config, task.batchSize) * steps,
      trainBits: task.trainBits,
      frameBytes: frame.byteLength,
      downlinkBytes: work.downlinkBytes,
      uplinkBps: work.uplinkBps ?? energy.defaultUplinkBps,
    },
    device,
    energy,
  );
  return {
    computeJ: cost.computeJ,
    transmitJ: cost.transmitJ,
    receiveJ: cost.receiveJ,
    energyJ: cost.energyJ,
    bytes: frame.byteLength,
    fp32Bytes: frameBytes(32, model.paramCount, task.blockSize),
  };
}

/** Adds an accepted upload to the device's running totals, in place. */
export function addUpload(totals: DeviceTotals, cost: UploadCost): DeviceTotals {
  totals.energyJ += cost.energyJ;
  totals.computeJ += cost.computeJ;
  totals.transmitJ += cost.transmitJ;
  totals.receiveJ += cost.receiveJ;
  totals.uplinkBytes += cost.bytes;
  totals.uplinkBytesFp32 += cost.fp32Bytes;
  totals.rounds++;
  return totals;
}
