// An aggregation rule as a run's config names it, validated, with every parameter's default filled
// in, and the one factory that builds it (the style of ../policy/spec.ts, and of DISCO's
// aggregator/get.ts). Rules and wrappers added later (robust rules, DP and secure aggregation
// wrappers, partial sums across nodes) each add a case here.
import { z } from 'zod';
import type { Aggregator } from './aggregator';
import type { MergeKernel } from './kernel';
import { OrderedAggregator } from './ordered';
import { CoordinateRobustAggregator } from './robust';
import { WeightedMeanAggregator } from './rules';
import { DEFAULT_STALENESS_EXPONENT } from './staleness';

const stalenessExponent = z.number().min(0).max(4).default(DEFAULT_STALENESS_EXPONENT);

/** Weighted FedAvg; stale updates (async mode) discounted by 1/(1+s)^stalenessExponent. */
export const FedAvgSpecSchema = z.object({ rule: z.literal('fedavg'), stalenessExponent }).strict();
/** FedNova: FedAvg of updates normalised by their local steps, for unequal step counts. */
export const FedNovaSpecSchema = z.object({ rule: z.literal('fednova'), stalenessExponent }).strict();

/** Coordinate-wise median (Yin et al. 2018): robust to a minority of devices sending anything. */
export const MedianSpecSchema = z.object({ rule: z.literal('median'), stalenessExponent }).strict();
/** Coordinate-wise trimmed mean: `trim` of the values cut at each end of every coordinate. */
export const TrimmedMeanSpecSchema = z.object({ rule: z.literal('trimmed-mean'), trim: z.number().min(0).lt(0.5).default(0.2), stalenessExponent }).strict();

export const AggregatorSpecSchema = z.discriminatedUnion('rule', [FedAvgSpecSchema, FedNovaSpecSchema, MedianSpecSchema, TrimmedMeanSpecSchema]);
export type AggregatorSpec = z.output<typeof AggregatorSpecSchema>;
export type AggregatorSpecInput = z.input<typeof AggregatorSpecSchema>;
export type AggregatorRule = AggregatorSpec['rule'];

export interface AggregatorOptions {
  /** Parameters in every update. */
  length: number;
  /** Scale each update to at most this L2 norm before it is merged; null or absent = off. */
  clipNorm?: number | null;
  /** Sum the updates in a fixed order (UpdateInfo.order) at the end, not as they arrive: bit-reproducible runs. */
  ordered?: boolean;
  /** The weighted means' running sum (FedAvg, FedNova): default the JavaScript kernel; the result is the same bit for bit. */
  kernel?: MergeKernel;
}

/** Validates `spec` (throws a ZodError naming the bad field) and builds the aggregator. */
export function createAggregator(spec: AggregatorSpecInput, options: AggregatorOptions): Aggregator {
  const rule = createRule(spec, options);
  return options.ordered ? new OrderedAggregator(rule) : rule;
}

function createRule(spec: AggregatorSpecInput, options: AggregatorOptions): Aggregator {
  const parsed = AggregatorSpecSchema.parse(spec);
  const common = { length: options.length, clipNorm: options.clipNorm, stalenessExponent: parsed.stalenessExponent };
  switch (parsed.rule) {
    case 'fedavg':
      return new WeightedMeanAggregator({ ...common, normalizeSteps: false, kernel: options.kernel });
    case 'fednova':
      return new WeightedMeanAggregator({ ...common, normalizeSteps: true, kernel: options.kernel });
    case 'median':
      return new CoordinateRobustAggregator({ ...common, rule: 'median', trim: 0 });
    case 'trimmed-mean':
      return new CoordinateRobustAggregator({ ...common, rule: 'trimmed-mean', trim: parsed.trim });
    default: {
      const unknown: never = parsed;
      throw new Error(`unknown aggregation rule ${JSON.stringify(unknown)}`);
    }
  }
}
