// The commit point of a round or a model version: the merged update applied to the global model,
// quality measured when due, totals added, the checkpoint written (from here the round survives
// kill -9), the model exported, and everyone told.
import { composeRdp, epsilonOf, roundRdp, type RoundSummary } from '@fedbit/core';
import type { RoundContext } from './context';
import { accountSummary, checkpointState } from './accounting';
import { mergeProblem } from './merge-guard';

/**
 * `samplingRate`: with differential privacy, the share of eligible devices the round selected (the
 * accountant's q). `rdp`: the round's privacy cost when the mechanism is not the central Gaussian (the
 * distributed discrete Gaussian of a secure round); by default the central one's at samplingRate.
 */
export async function commitVersion(ctx: RoundContext, summary: RoundSummary, mean: Float32Array, samplingRate = 1, rdp?: number[]): Promise<void> {
  const { config, run } = ctx;
  const global = run.global;
  // The one check async buffers get (synchronous rounds check first, to say why they dropped).
  const problem = mergeProblem(global, mean);
  if (problem) throw new Error(problem);
  const next = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) next[i] = global[i] + mean[i];

  // The sampling EMA, updated on a copy: it replaces the run's only once the checkpoint is written.
  const ema = run.ema?.clone() ?? null;
  ema?.update(next);
  const round = summary.round;
  if ((round === config.rounds && config.eval.final) || (config.eval.every > 0 && round % config.eval.every === 0)) {
    const quality = await ctx.host.evaluate(ema?.value ?? next).catch((error: unknown) => {
      ctx.log.error({ err: (error as Error).message }, 'evaluation failed');
      return null;
    });
    if (quality) {
      summary.fidMnist = quality.fidMnist;
      summary.classEntropyBits = quality.classEntropyBits;
    }
  }
  // The checkpoint is the commit point: if writing it fails, the run is left exactly as it was.
  const before = { completed: run.completed, totals: { ...run.totals }, losses: run.lossHistory.length, rdp: [...run.rdp] };
  try {
    if (config.privacy) {
      composeRdp(run.rdp, rdp ?? roundRdp(samplingRate, config.privacy.noiseMultiplier));
      summary.epsilon = epsilonOf(run.rdp, config.privacy.delta).epsilon;
    }
    accountSummary(ctx, summary);
    run.completed = round;
    const state = checkpointState(ctx, summary);
    if (ema) state.ema = { decay: ema.decay, updates: ema.updates };
    // A cluster: written to Redis first (fenced: only the leader's write lands), where any node can take over from.
    await ctx.cluster?.replicate(state, next, ema?.value ?? null);
    ctx.store.commitRound(state, next, ema?.value);
  } catch (error) {
    run.completed = before.completed;
    run.totals = before.totals;
    run.lossHistory.length = before.losses;
    run.rdp = before.rdp;
    throw error;
  }
  global.set(next);
  run.ema = ema;
  // The published model is the one that draws best: the EMA when the run keeps one (devices train from `global`).
  ctx.store.writeModel(ctx.host.modelFiles(run.samplingWeights));
  // A LoRA run's "after" beside its "before" (samples-base.png): the effective model's grid at the last round.
  if (ctx.host.lora && round === config.rounds) {
    await ctx.host
      .samplesPng(run.samplingWeights, round)
      .then((png) => ctx.store.writeFile('samples.png', png))
      .catch((error: unknown) => ctx.log.error({ err: (error as Error).message }, 'final samples failed'));
  }
  run.summaries.push(summary);
  run.commitTimes.push(Date.now());
  ctx.metrics.roundCompleted(summary);
  ctx.log.info(
    { round, accepted: summary.accepted, loss: summary.loss, energyJ: summary.energyJ, uplinkBytes: summary.uplinkBytes, wallS: summary.wallS, fidMnist: summary.fidMnist },
    config.mode === 'async' ? 'version committed' : 'round committed',
  );
  ctx.committed(summary);
  ctx.notify();
}
