// Fixed precision: every device uploads at the same `bits`. bits = 32 is plain FedAvg
// (McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data",
// AISTATS 2017, arXiv 1602.05629); lower bits is fixed-precision quantized FL, the baseline of
// Lai et al. (arXiv 2403.04430) and Kim, Saad et al. (arXiv 2111.07911).
// Parameters: bits (default 32).
// Fixed means fixed: battery, preference and deadline are ignored. Only a device's own cap or
// floor, or an allowed set without `bits`, can change it: the device then gets the highest
// precision it may take that is <= bits (or its lowest, if all are above), and the reason says so.
import type { Bits } from '../bits';
import { assignClamped } from './common';
import type { Assignment, DeviceDemand, PolicyContext, PrecisionPolicy } from './types';

export interface FixedParams {
  bits: Bits;
}

export const DEFAULT_FIXED_PARAMS: FixedParams = { bits: 32 };

export function assignFixed(params: FixedParams, devices: readonly DeviceDemand[], ctx: PolicyContext): Map<string, Assignment> {
  const label = params.bits === 32 ? 'fixed 32 bits (FedAvg)' : `fixed ${params.bits} bits`;
  return assignClamped(devices, ctx, () => params.bits, () => label);
}

export function fixedPolicy(params: FixedParams = DEFAULT_FIXED_PARAMS): PrecisionPolicy {
  return {
    name: `fixed-${params.bits}`,
    describe: () => ({ kind: 'fixed', ...params }),
    assign: (devices, ctx) => assignFixed(params, devices, ctx),
  };
}
