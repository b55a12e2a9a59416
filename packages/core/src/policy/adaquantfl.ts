// AdaQuantFL (Jhunjhunwala et al., "Adaptive Quantization of Model Updates for
// Communication-Efficient Federated Learning", ICASSP 2021, arXiv 2102.04487): few quantization
// levels early, more as the loss falls, s_k = s_0 * sqrt(F(w_0) / F(w_k)).
// Here F(w_0) is the first loss in ctx.lossHistory and F(w_k) the latest; with no history s = s_0.
// Levels map to precision as the smallest allowed bits with 2^bits - 1 >= s (the nonzero levels
// a b-bit uniform quantizer has; 16 counts as 2^16 - 1, 32 as unbounded). Every device gets the
// same target, clamped into its own floor/cap like the fixed policy; battery, preference and
// deadline are ignored (it is a baseline).
// Parameters: initialLevels s_0 (default 3, i.e. 2 bits in the first round).
import { assignClamped, levelsToBits } from './common';
import type { Assignment, DeviceDemand, PolicyContext, PrecisionPolicy } from './types';

export interface AdaQuantFLParams {
  initialLevels: number;
}

export const DEFAULT_ADAQUANTFL_PARAMS: AdaQuantFLParams = { initialLevels: 3 };

/** s_k = s_0 sqrt(F(w_0)/F(w_k)); s_0 while the history is empty or its losses are not positive. */
export function adaQuantLevels(params: AdaQuantFLParams, lossHistory: readonly number[]): number {
  const first = lossHistory[0];
  const last = lossHistory[lossHistory.length - 1];
  if (!(first > 0 && last >= 0 && Number.isFinite(first) && Number.isFinite(last))) return params.initialLevels;
  return last === 0 ? Infinity : params.initialLevels * Math.sqrt(first / last);
}

export function assignAdaQuantFL(params: AdaQuantFLParams, devices: readonly DeviceDemand[], ctx: PolicyContext): Map<string, Assignment> {
  const levels = adaQuantLevels(params, ctx.lossHistory);
  const bits = levelsToBits(levels, ctx.allowedBits);
  return assignClamped(devices, ctx, () => bits, () => `adaquantfl: s = ${levels.toPrecision(3)} levels -> ${bits} bits`);
}

export function adaQuantFLPolicy(params: AdaQuantFLParams = DEFAULT_ADAQUANTFL_PARAMS): PrecisionPolicy {
  return {
    name: 'adaquantfl',
    describe: () => ({ kind: 'adaquantfl', ...params }),
    assign: (devices, ctx) => assignAdaQuantFL(params, devices, ctx),
  };
}
