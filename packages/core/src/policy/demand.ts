// What a policy needs to know of one device for one round (DeviceDemand): its stated demand, and
// per allowed precision the modelled energy and latency (../energy), the exact frame bytes and the
// codec's variance bound V_k(n). Built here once, for the aggregator's planner and for tests.
import type { Bits } from '../bits';
import { costOfRound, trainBitsFor, type DeviceEnergyProfile } from '../energy/device-cost';
import type { EnergyConstants } from '../energy/constants';
import { frameBytes } from '../quant/frame';
import { varianceBound } from '../quant/variance';
import type { Preference } from '../vocabulary';
import type { DeviceDemand } from './types';

export interface DemandInput {
  id: string;
  /** Aggregation weight w_k (the round's weights sum to 1). */
  weight: number;
  telemetry: DeviceEnergyProfile & { battery: number | null; charging: boolean | null; preference: Preference };
  /** ||update||^2 of the device's last accepted update, or the prior standing in before its first. */
  updateNormSq: number;
  /** max|update| of the last update; tightens V_k(n) from blockSize*||u||^2 to length*max|u|^2. Unknown before a first update. */
  updateMaxAbs?: number;
  /** sum_b len_b s_b^2 of the last update at the run's block size; the tightest V_k(n). Unknown before a first update. */
  updateScaleSq?: number;
  uplinkBps: number;
  /** Multiply-adds of the local training planned for this device this round. */
  macs: number;
}

export interface DemandSettings {
  paramCount: number;
  blockSize: number;
  allowedBits: readonly Bits[];
  qat: { enabled: boolean; minTrainBits: number };
  energy: EnergyConstants;
}

export function deviceDemand(input: DemandInput, settings: DemandSettings): DeviceDemand {
  const { paramCount: length, blockSize } = settings;
  const options: DeviceDemand['options'] = {};
  for (const bits of settings.allowedBits) {
    const bytes = frameBytes(bits, length, blockSize);
    const cost = costOfRound(
      { macs: input.macs, trainBits: trainBitsFor(bits, settings.qat), frameBytes: bytes, uplinkBps: input.uplinkBps },
      input.telemetry,
      settings.energy,
    );
    options[bits] = {
      energyJ: cost.energyJ,
      latencyS: cost.latencyS,
      frameBytes: bytes,
      variance: varianceBound(bits, { length, normSq: input.updateNormSq, maxAbs: input.updateMaxAbs, blockSize, sumScaleSq: input.updateScaleSq }),
    };
  }
  return {
    id: input.id,
    weight: input.weight,
    battery: input.telemetry.battery,
    charging: input.telemetry.charging,
    preference: input.telemetry.preference,
    updateNormSq: input.updateNormSq,
    options,
  };
}

/** Before a device's first update, the median of the others' ||update||^2 (or 1) stands in for its own. */
export function normSqPrior(known: readonly number[]): number {
  if (known.length === 0) return 1;
  const sorted = [...known].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
