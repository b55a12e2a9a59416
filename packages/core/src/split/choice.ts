// Full training or split training, per device and round, where the run allows both (split.perDevice;
// docs/SPLIT.md, "Choosing per device"). The costs are the energy model's (../energy): full
// training is charged the whole model's MACs, its update and the whole model downloaded; split
// training its part's MACs only, the activations up and the gradients down every step, its part's
// update and download (./energy.ts), never the server's compute. The policy's objective is the
// device's modelled energy under the round's deadline, so: a mode that meets the deadline beats
// one that does not; between two that do, the lower energy; if neither does, the faster.
import type { Bits } from '../bits';
import { costOfRound, type DeviceEnergyProfile } from '../energy/device-cost';
import type { EnergyConstants } from '../energy/constants';
import { frameBytes } from '../quant/frame';
import { splitRoundWork, type SplitRoundInput } from './energy';

export const TRAINING_MODES = ['full', 'split'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];

export interface ModeCost {
  energyJ: number;
  latencyS: number;
}

export interface ModeChoice {
  mode: TrainingMode;
  /** One line a person can read: why this mode. */
  reason: string;
  full: ModeCost;
  split: ModeCost;
}

const j = (x: number) => `${x.toPrecision(3)} J`;
const s = (x: number) => `${x.toPrecision(3)} s`;

export function chooseTrainingMode(full: ModeCost, split: ModeCost, deadlineS: number): ModeChoice {
  const fullFits = full.latencyS <= deadlineS;
  const splitFits = split.latencyS <= deadlineS;
  const costs = `full ${j(full.energyJ)} / ${s(full.latencyS)}, split ${j(split.energyJ)} / ${s(split.latencyS)} (modelled)`;
  let mode: TrainingMode;
  let why: string;
  if (fullFits !== splitFits) {
    mode = fullFits ? 'full' : 'split';
    why = `only ${mode} training meets the ${deadlineS} s deadline`;
  } else if (fullFits) {
    mode = split.energyJ < full.energyJ ? 'split' : 'full';
    why = `${mode} training costs the device less energy`;
  } else {
    mode = split.latencyS < full.latencyS ? 'split' : 'full';
    why = `neither meets the ${deadlineS} s deadline; ${mode} is faster`;
  }
  return { mode, reason: `${mode}: ${why}; ${costs}`, full, split };
}

export interface ModeCostInput {
  device: DeviceEnergyProfile;
  energy: EnergyConstants;
  uplinkBps: number;
  /** The upload precision both modes are priced at (the device's last one, or the run's highest allowed). */
  bits: Bits;
  trainBits: number;
  /** Full training: the round's MACs, the whole model's weights and the bytes of the model it downloads. */
  fullMacs: number;
  paramCount: number;
  blockSize: number;
  modelBytes: number;
  /** Split training: the round's split traffic (./energy.ts) with the same bits and uplink. */
  split: Omit<SplitRoundInput, 'updateBits' | 'uplinkBps'>;
}

/** Both modes' modelled device energy and latency for one round, from the one energy model. */
export function modeCosts(input: ModeCostInput): { full: ModeCost; split: ModeCost } {
  const full = costOfRound(
    { macs: input.fullMacs, trainBits: input.trainBits, frameBytes: frameBytes(input.bits, input.paramCount, input.blockSize), downlinkBytes: input.modelBytes, uplinkBps: input.uplinkBps },
    input.device,
    input.energy,
  );
  const split = costOfRound(splitRoundWork({ ...input.split, updateBits: input.bits, uplinkBps: input.uplinkBps }), input.device, input.energy);
  return { full: { energyJ: full.energyJ, latencyS: full.latencyS }, split: { energyJ: split.energyJ, latencyS: split.latencyS } };
}
