// DAdaQuant (Hönig, Zhao, Mullins, "DAdaQuant: Doubly-adaptive quantization for
// communication-efficient federated learning", ICML 2022, arXiv 2111.00465).
// Time-adaptive: the level q starts at q_0 and doubles (up to q_max) when the training loss
// plateaus. As in the paper the loss is first smoothed, F^_t = beta F^_{t-1} + (1 - beta) F_t,
// and a plateau is psi rounds without the smoothed loss falling (here: by more than a relative
// `plateauTolerance`, so a flat loss counts even while the average still creeps down), at least
// psi rounds after the last doubling. q is recomputed from ctx.lossHistory every round, so it
// survives a restart.
// Client-adaptive: q_k proportional to w_k^(2/3) (the paper's optimum for a fixed communication
// budget), normalised so the mean of q_k over the round's devices equals q.
// Levels map to bits as in AdaQuantFL: the smallest allowed bits with 2^bits - 1 >= q_k, then
// clamped into the device's own floor/cap; battery, preference and deadline are ignored.
// Parameters (defaults): initialLevels q_0 = 1, maxLevels q_max = 255 (8 bits), smoothing beta =
// 0.5 (our choice: ctx.lossHistory is already the mean over a round's devices, and a longer
// average lags a falling loss by many rounds, which delays every doubling), patience psi = 3
// rounds, plateauTolerance = 0.01.
import { assignClamped, levelsToBits } from './common';
import type { Assignment, DeviceDemand, PolicyContext, PrecisionPolicy } from './types';

export interface DAdaQuantParams {
  initialLevels: number;
  maxLevels: number;
  smoothing: number;
  patience: number;
  plateauTolerance: number;
}

export const DEFAULT_DADAQUANT_PARAMS: DAdaQuantParams = {
  initialLevels: 1,
  maxLevels: 255,
  smoothing: 0.5,
  patience: 3,
  plateauTolerance: 0.01,
};

/** The time-adaptive level q after the rounds in lossHistory. */
export function dadaQuantLevels(params: DAdaQuantParams, lossHistory: readonly number[]): number {
  let q = Math.min(params.initialLevels, params.maxLevels);
  const smoothed: number[] = [];
  let lastDoubling = 0;
  for (const loss of lossHistory) {
    if (!Number.isFinite(loss)) continue;
    const previous = smoothed[smoothed.length - 1];
    smoothed.push(previous === undefined ? loss : params.smoothing * previous + (1 - params.smoothing) * loss);
    const t = smoothed.length - 1;
    if (t - lastDoubling < params.patience) continue;
    const then = smoothed[t - params.patience];
    if (smoothed[t] > then * (1 - params.plateauTolerance)) {
      q = Math.min(2 * q, params.maxLevels);
      lastDoubling = t;
    }
  }
  return q;
}

/** q_k = q * w_k^(2/3) / mean_j(w_j^(2/3)); equal weights (or all zero) give every device q. */
export function dadaQuantClientLevels(q: number, weights: readonly number[]): number[] {
  const scaled = weights.map((w) => Math.max(0, w) ** (2 / 3));
  const mean = scaled.reduce((a, b) => a + b, 0) / Math.max(1, scaled.length);
  return scaled.map((s) => (mean > 0 ? (q * s) / mean : q));
}

export function assignDAdaQuant(params: DAdaQuantParams, devices: readonly DeviceDemand[], ctx: PolicyContext): Map<string, Assignment> {
  const q = dadaQuantLevels(params, ctx.lossHistory);
  const levels = dadaQuantClientLevels(q, devices.map((d) => d.weight));
  const target = new Map(devices.map((d, i) => [d.id, levelsToBits(levels[i], ctx.allowedBits)]));
  const levelOf = new Map(devices.map((d, i) => [d.id, levels[i]]));
  return assignClamped(
    devices,
    ctx,
    (d) => target.get(d.id)!,
    (d, bits) => `dadaquant: q = ${q}, q_k = ${levelOf.get(d.id)!.toPrecision(3)} levels (weight ${d.weight.toPrecision(3)}) -> ${bits} bits`,
  );
}

export function dadaQuantPolicy(params: DAdaQuantParams = DEFAULT_DADAQUANT_PARAMS): PrecisionPolicy {
  return {
    name: 'dadaquant',
    describe: () => ({ kind: 'dadaquant', ...params }),
    assign: (devices, ctx) => assignDAdaQuant(params, devices, ctx),
  };
}
