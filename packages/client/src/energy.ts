// The device page's own modelled energy and bytes for an upload. The inputs come from core's
// costOfRound (packages/core/src/energy/device-cost.ts), the same call the aggregator accounts the
// round with, so the page and the dashboard show the same joules for the same update.
import { costOfRound, frameBytes, type DeviceEnergyProfile, type DeviceTotals, type EnergyConstants, type Task } from '@fedbit/core';


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
  /** Multiply-adds of one local step (train-env.ts macsPerStep: full training or LoRA). */
  macsPerStep: number;
  /** Length of the uploaded vector (the model's, or the adapter vector's). */
  paramCount: number;
  task: Task;
  /** Local steps actually trained (a time budget may cut them short). */
  steps: number;
  /** What was sent: the frame, or in a secure round everything its four steps sent. */
  frame: Pick<Uint8Array, 'byteLength'>;
  /** Bytes of the global model this task brought down. */
  downlinkBytes: number;
  /** The device's smoothed uplink rate; null before any transfer was timed. */
  uplinkBps: number | null;
  /** A split task (train-split.ts): the bytes it sent and received at the cut. */
  splitTraffic?: { activationBytes: number; gradientBytes: number };
}

/** Modelled joules of one upload on this device (not measured: the page says so). */
export function costOfUpload(work: UploadWork, device: DeviceEnergyProfile, energy: EnergyConstants): UploadCost {
  const { task, steps, frame } = work;
  // A split task: its activations up and gradients down too (as the aggregator accounts it).
  const split = task.split ? (work.splitTraffic ?? { activationBytes: 0, gradientBytes: 0 }) : null;
  const cost = costOfRound(
    {
      macs: work.macsPerStep * steps,
      trainBits: task.trainBits,
      frameBytes: frame.byteLength + (split?.activationBytes ?? 0),
      downlinkBytes: work.downlinkBytes + (split?.gradientBytes ?? 0),
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
    fp32Bytes: frameBytes(32, work.paramCount, task.blockSize),
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
