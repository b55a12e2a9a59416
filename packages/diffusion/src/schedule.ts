// Noise schedules of denoising diffusion.
// - linear: Ho, Jain, Abbeel, "Denoising Diffusion Probabilistic Models", arXiv 2006.11239:
//   beta from 1e-4 to 0.02 over T = 1000 steps. For other T the endpoints are scaled by 1000/T
//   (as in Nichol & Dhariwal's code) so that alpha_bar at T stays near zero.
// - cosine: Nichol, Dhariwal, "Improved Denoising Diffusion Probabilistic Models", arXiv
//   2102.09672: alpha_bar(t) = f(t)/f(0), f(t) = cos^2(((t/T + s)/(1 + s)) * pi/2), s = 0.008,
//   betas clipped at 0.999.

export type ScheduleKind = 'linear' | 'cosine';

export interface ScheduleSpec {
  kind: ScheduleKind;
  /** T, the number of diffusion steps. */
  steps: number;
}

export interface NoiseSchedule {
  kind: ScheduleKind;
  steps: number;
  betas: Float64Array;
  alphas: Float64Array;
  /** alpha_bar[t] = prod_{s<=t} alpha_s, strictly decreasing, in (0, 1). */
  alphaBars: Float64Array;
}

const COSINE_OFFSET = 0.008;
const MAX_BETA = 0.999;

export function makeSchedule(spec: ScheduleSpec): NoiseSchedule {
  const T = spec.steps;
  if (!Number.isInteger(T) || T < 2) {
    throw new Error(`schedule.steps must be an integer >= 2, got ${T}`);
  }
  const betas = new Float64Array(T);
  switch (spec.kind) {
    case 'linear': {
      const scale = 1000 / T;
      const start = Math.min(scale * 1e-4, MAX_BETA);
      const end = Math.min(scale * 0.02, MAX_BETA);
      for (let t = 0; t < T; t++) betas[t] = start + ((end - start) * t) / (T - 1);
      break;
    }
    case 'cosine': {
      const f = (t: number) => Math.cos(((t / T + COSINE_OFFSET) / (1 + COSINE_OFFSET)) * (Math.PI / 2)) ** 2;
      for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), MAX_BETA);
      break;
    }
    default: {
      const never: never = spec.kind;
      throw new Error(`unknown schedule kind ${String(never)}: expected 'linear' or 'cosine'`);
    }
  }
  const alphas = new Float64Array(T);
  const alphaBars = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    alphas[t] = 1 - betas[t];
    prod *= alphas[t];
    alphaBars[t] = prod;
  }
  return { kind: spec.kind, steps: T, betas, alphas, alphaBars };
}
