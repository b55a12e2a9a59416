// Learning-rate schedules for local training: linear warm-up then cosine decay to a floor
// (Loshchilov & Hutter, SGDR, arXiv 1608.03983, without restarts; Goyal et al., arXiv
// 1706.02677, for the warm-up). In a federated run the schedule runs over the run's rounds, so
// every device of a round trains at the same rate (Kim, Saad et al., arXiv 2111.07911, tie the
// admissible quantization error to this rate).

export interface LrScheduleSpec {
  kind: 'constant' | 'cosine';
  /** Steps (or rounds) of linear warm-up from 0 to the base rate; default 0. */
  warmup?: number;
  /** Total steps (or rounds) the cosine decays over. */
  total?: number;
  /** The rate at the end of the decay, as a fraction of the base rate; default 0.1. */
  floor?: number;
}

/** The learning rate at step (or round) `at`, counting from 0. */
export function learningRateAt(base: number, spec: LrScheduleSpec, at: number): number {
  const warmup = spec.warmup ?? 0;
  if (warmup > 0 && at < warmup) return (base * (at + 1)) / warmup;
  if (spec.kind === 'constant') return base;
  const total = spec.total ?? 0;
  if (!(total > warmup)) throw new Error(`cosine learning-rate schedule needs total (${total}) > warmup (${warmup})`);
  const floor = spec.floor ?? 0.1;
  const progress = Math.min(1, (at - warmup) / (total - warmup));
  return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
