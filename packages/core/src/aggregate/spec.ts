// An aggregation rule as a run's config names it, validated, with every parameter's default filled
// in, and the one factory that builds it (the style of ../policy/spec.ts, and of DISCO's
// aggregator/get.ts). Rules and wrappers added later (FedNova and FedBuff weighting, robust rules,
// DP and secure aggregation wrappers) each add a case here.
import { z } from 'zod';
import type { Aggregator } from './aggregator';
import { StreamingAggregator } from './streaming';

export const FedAvgSpecSchema = z.object({ rule: z.literal('fedavg') }).strict();

/** { rule: 'fedavg' }: weighted FedAvg, decoded straight into a float64 running sum. */
export const AggregatorSpecSchema = z.discriminatedUnion('rule', [FedAvgSpecSchema]);
export type AggregatorSpec = z.output<typeof AggregatorSpecSchema>;
export type AggregatorSpecInput = z.input<typeof AggregatorSpecSchema>;
export type AggregatorRule = AggregatorSpec['rule'];

export interface AggregatorOptions {
  /** Parameters in every update. */
  length: number;
  /** Scale each update to at most this L2 norm before it is merged; null or absent = off. */
  clipNorm?: number | null;
}

/** Validates `spec` (throws a ZodError naming the bad field) and builds the aggregator. */
export function createAggregator(spec: AggregatorSpecInput, options: AggregatorOptions): Aggregator {
  const parsed = AggregatorSpecSchema.parse(spec);
  switch (parsed.rule) {
    case 'fedavg':
      return new StreamingAggregator(options.length, options.clipNorm ? { clipNorm: options.clipNorm } : undefined);
    default: {
      const unknown: never = parsed.rule;
      throw new Error(`unknown aggregation rule ${JSON.stringify(unknown)}`);
    }
  }
}
