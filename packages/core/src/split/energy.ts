// The split mode in the energy model (DESIGN.md "The energy model"; Zhang, Ni, Wang, arXiv
// 2412.06414, sec. IV): the device is charged the MACs of its own part only (forward + backward,
// scaled by the pruning keep ratio: pruned weights are multiplications it skips on sparse
// hardware, an optimistic reading stated in docs/SPLIT.md), the activation frames it sends and the
// gradient frames it receives every step, plus its part's upload and download at round end. The
// server's part is not charged to the device.
import type { Bits } from '../bits';
import { frameBytes } from '../quant/frame';
import type { RoundWork } from '../energy/device-cost';
import { cutFrameBytes } from './frames';

export interface SplitRoundInput {
  /** Forward multiply-accumulates per image of the device part (diffusion's splitPlan). */
  deviceMacsPerImage: number;
  batchSize: number;
  steps: number;
  /** Values crossing the cut per step after dropout (the packed length). */
  keptPerStep: number;
  activationBits: Bits;
  gradientBits: Bits;
  /** Weights of the device part, and the share kept by pruning. */
  deviceParams: number;
  keepRatio: number;
  /** Precision of the device part's upload and download frames. */
  updateBits: Bits;
  downlinkBits: Bits;
  uplinkBps: number;
}

export interface SplitTraffic {
  macs: number;
  activationBytes: number;
  gradientBytes: number;
  uplinkBytes: number;
  downlinkBytes: number;
}

/** A device's MACs of one split step: its part's forward and backward (3 forwards), scaled by the pruning keep ratio. */
export function splitMacsPerStep(deviceMacsPerImage: number, batchSize: number, keepRatio: number): number {
  return 3 * deviceMacsPerImage * batchSize * keepRatio;
}

export function splitTraffic(input: SplitRoundInput): SplitTraffic {
  const macs = splitMacsPerStep(input.deviceMacsPerImage, input.batchSize, input.keepRatio) * input.steps;
  const activationBytes = input.steps * cutFrameBytes(input.activationBits, input.keptPerStep);
  const gradientBytes = input.steps * cutFrameBytes(input.gradientBits, input.keptPerStep);
  const uplinkBytes = activationBytes + frameBytes(input.updateBits, input.deviceParams);
  const downlinkBytes = gradientBytes + frameBytes(input.downlinkBits, input.deviceParams);
  return { macs, activationBytes, gradientBytes, uplinkBytes, downlinkBytes };
}

/** The energy model's inputs for one split round (costOfRound prices them). */
export function splitRoundWork(input: SplitRoundInput): RoundWork {
  const t = splitTraffic(input);
  return { macs: t.macs, trainBits: 32, frameBytes: t.uplinkBytes, downlinkBytes: t.downlinkBytes, uplinkBps: input.uplinkBps };
}
