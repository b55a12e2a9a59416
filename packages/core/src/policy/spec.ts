// A policy as a run's config names it, validated, with every parameter's default filled in.
import { z } from 'zod';
import { ALL_BITS } from '../bits';
import { adaQuantFLPolicy, DEFAULT_ADAQUANTFL_PARAMS } from './adaquantfl';
import { dadaQuantPolicy, DEFAULT_DADAQUANT_PARAMS } from './dadaquant';
import { DEFAULT_FIXED_PARAMS, fixedPolicy } from './fixed';
import { DEFAULT_ON_DEMAND_PARAMS, onDemandPolicy } from './on-demand';
import type { PrecisionPolicy } from './types';

const bits = z.literal(ALL_BITS);
const positive = z.number().positive().finite();
const prices = DEFAULT_ON_DEMAND_PARAMS.preferencePrice;

export const FixedSpecSchema = z.object({ kind: z.literal('fixed'), bits: bits.default(DEFAULT_FIXED_PARAMS.bits) }).strict();

export const OnDemandSpecSchema = z
  .object({
    kind: z.literal('on-demand'),
    errorBound: positive.default(DEFAULT_ON_DEMAND_PARAMS.errorBound),
    preferencePrice: z
      .object({
        'save-battery': positive.default(prices['save-battery']),
        balanced: positive.default(prices.balanced),
        'best-quality': positive.default(prices['best-quality']),
      })
      .strict()
      .prefault({})
      .refine((p) => p['save-battery'] >= p.balanced && p.balanced >= p['best-quality'], {
        message: 'prices must satisfy save-battery >= balanced >= best-quality',
      }),
    lowBatteryPrice: z.number().min(1).finite().default(DEFAULT_ON_DEMAND_PARAMS.lowBatteryPrice),
    lowBatteryMaxBits: bits.default(DEFAULT_ON_DEMAND_PARAMS.lowBatteryMaxBits),
    chargingPrice: positive.max(1).default(DEFAULT_ON_DEMAND_PARAMS.chargingPrice),
  })
  .strict();

export const AdaQuantFLSpecSchema = z
  .object({ kind: z.literal('adaquantfl'), initialLevels: positive.default(DEFAULT_ADAQUANTFL_PARAMS.initialLevels) })
  .strict();

export const DAdaQuantSpecSchema = z
  .object({
    kind: z.literal('dadaquant'),
    initialLevels: positive.default(DEFAULT_DADAQUANT_PARAMS.initialLevels),
    maxLevels: positive.default(DEFAULT_DADAQUANT_PARAMS.maxLevels),
    smoothing: z.number().min(0).lt(1).default(DEFAULT_DADAQUANT_PARAMS.smoothing),
    patience: z.number().int().min(1).default(DEFAULT_DADAQUANT_PARAMS.patience),
    plateauTolerance: z.number().min(0).lt(1).default(DEFAULT_DADAQUANT_PARAMS.plateauTolerance),
  })
  .strict()
  .refine((s) => s.maxLevels >= s.initialLevels, { message: 'maxLevels must be >= initialLevels', path: ['maxLevels'] });

/** { kind: 'fixed' | 'on-demand' | 'adaquantfl' | 'dadaquant', ...that policy's parameters }. */
export const PolicySpecSchema = z.discriminatedUnion('kind', [FixedSpecSchema, OnDemandSpecSchema, AdaQuantFLSpecSchema, DAdaQuantSpecSchema]);

/** A policy spec with every default filled in. */
export type PolicySpec = z.output<typeof PolicySpecSchema>;
/** A policy spec as written in a config (parameters optional). */
export type PolicySpecInput = z.input<typeof PolicySpecSchema>;
export type PolicyKind = PolicySpec['kind'];

/** Validates `spec` (throws a ZodError naming the bad field) and builds the policy. */
export function createPolicy(spec: PolicySpecInput): PrecisionPolicy {
  const parsed = PolicySpecSchema.parse(spec);
  switch (parsed.kind) {
    case 'fixed':
      return fixedPolicy({ bits: parsed.bits });
    case 'on-demand': {
      const { kind: _, ...params } = parsed;
      return onDemandPolicy(params);
    }
    case 'adaquantfl':
      return adaQuantFLPolicy({ initialLevels: parsed.initialLevels });
    case 'dadaquant': {
      const { kind: _, ...params } = parsed;
      return dadaQuantPolicy(params);
    }
    default: {
      const unknown: never = parsed;
      throw new Error(`unknown policy kind ${JSON.stringify(unknown)}`);
    }
  }
}
