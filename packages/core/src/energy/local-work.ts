// Time-budgeted local work: how many local steps a device is asked to train in a task, and when
// it stops. Both sides use these rules: the aggregator to plan each device's steps (and so its
// modelled energy and the policy's costs), the device to stop in time. A slow device trains fewer
// steps instead of missing the deadline; the aggregator's FedNova rule (../aggregate/fednova.ts)
// keeps the unequal step counts from biasing the model.

/** Part of the time left before the deadline that local training may use; the rest is slack for
 * the upload, the acknowledgement and a step that runs slower than the device's average. */
export const TRAIN_SHARE_OF_DEADLINE = 0.6;

export interface LocalWorkInput {
  /** The most local steps a task may ask for (the run's localSteps). */
  maxSteps: number;
  /** Milliseconds from sending the task until the update must have arrived. */
  deadlineMs: number;
  /** The device's measured milliseconds per step (smoothed), or null before its first update. */
  measuredStepMs: number | null;
  /** The energy model's estimate when nothing is measured: MACs per step / the device's throughput. */
  modelledStepMs: number;
  /** Expected milliseconds to upload the update (frame bytes / measured uplink rate). */
  transmitMs: number;
}

export interface LocalWork {
  /** Planned local steps, 1 <= steps <= maxSteps. */
  steps: number;
  /** Milliseconds of training the device may spend; it stops at `steps` or at the budget, whichever first. */
  budgetMs: number;
  /** The step time the plan assumed, and where it came from. */
  stepMs: number;
  basis: 'measured' | 'modelled';
}

export function planLocalWork(input: LocalWorkInput): LocalWork {
  if (!(Number.isInteger(input.maxSteps) && input.maxSteps >= 1)) throw new RangeError(`maxSteps must be an integer >= 1, got ${input.maxSteps}`);
  const basis = input.measuredStepMs !== null && input.measuredStepMs > 0 ? 'measured' : 'modelled';
  const stepMs = Math.max(1e-3, basis === 'measured' ? input.measuredStepMs! : input.modelledStepMs);
  const budgetMs = Math.max(0, (input.deadlineMs - input.transmitMs) * TRAIN_SHARE_OF_DEADLINE);
  const steps = Math.max(1, Math.min(input.maxSteps, Math.floor(budgetMs / stepMs)));
  return { steps, budgetMs, stepMs, basis };
}

/**
 * The device's rule between two steps: go on while fewer than `maxSteps` are done and the next
 * step, at the mean pace so far, still ends within the budget. The first step always runs.
 */
export function anotherStepFits(done: number, maxSteps: number, elapsedMs: number, budgetMs: number | undefined): boolean {
  if (done < 1) return true;
  if (done >= maxSteps) return false;
  if (budgetMs === undefined) return true;
  return elapsedMs + elapsedMs / done <= budgetMs;
}
