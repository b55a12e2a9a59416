// A run's configuration: validated with zod wherever it comes from (a config file, the admin API,
// CLI flags), resolved with defaults and written whole into the run directory.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ALL_BITS, AggregatorSpecSchema, BitsSchema, DEFAULT_BLOCK_SIZE, EnergyConstantsSchema, LORA_METHODS, PolicySpecSchema, RUN_MODES, SplitConfigSchema, describeZodError } from '@fedbit/core';
import { resolveLoraConfig } from '@fedbit/diffusion';
import { KNOWN_BASES } from './lora-base';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const RunConfigSchema = z
  .object({
    runId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, _ or -, up to 64')
      .optional(),
    seed: int(0, 2 ** 31 - 1).default(1),
    dataset: z
      .object({
        name: z.enum(['mnist', 'emoji']).default('mnist'),
        /** Side of the square images devices train on (MNIST is resized from 28). */
        imageSize: int(8, 64).default(16),
        partition: z.enum(['iid', 'dirichlet', 'vendor']).default('iid'),
        /** Dirichlet concentration over labels; smaller is more skewed. */
        alpha: z.number().positive().max(1000).default(0.5),
        /** Shards the training split is cut into; joining devices take them in turn. */
        shards: int(1, 10_000).default(10),
        /** Train (and hold out) only these groups of the dataset: emoji vendors, e.g. ["twitter", "facebook"]. Absent = all. */
        groups: z.array(z.string().min(1).max(32)).min(1).max(64).optional(),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        size: z.enum(['tiny', 'small', 'default']).default('tiny'),
        classConditional: z.boolean().default(false),
        /**
         * Where full training starts: 'random' (the seeded init) or a shipped base (lora-base.ts),
         * whose weights and model config (size, image size, classes) replace the run's: federated
         * full fine-tuning, the baseline LoRA runs are measured against. A LoRA run names its base
         * in lora.base instead.
         */
        init: z.string().min(1).max(64).default('random'),
        schedule: z
          .object({ kind: z.enum(['linear', 'cosine']).default('cosine'), steps: int(10, 4000).default(200) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * 'sync': rounds with a deadline and a quorum (the papers' experiments). 'async': buffered
     * asynchronous aggregation (FedBuff): free devices train at once from the newest version, and
     * every `async.buffer` accepted updates become the next version.
     */
    mode: z.enum(RUN_MODES).default('sync'),
    /** 'fixed': every task asks for localSteps. 'budget': as many steps as fit the device's time budget, at most localSteps. */
    localWork: z.enum(['fixed', 'budget']).default('fixed'),
    /** How accepted updates merge (packages/core/src/aggregate): fedavg, or fednova for unequal step counts. Default: fednova when localWork is 'budget'. */
    aggregation: AggregatorSpecSchema.optional(),
    async: z
      .object({
        /** Accepted updates per new model version (FedBuff's K). */
        buffer: int(1, 10_000).default(4),
        /** An update trained this many versions ago or more is refused ('too-stale'). */
        maxStaleness: int(0, 1000).default(8),
        /** Devices training at once; default devicesPerRound. */
        concurrency: int(1, 10_000).optional(),
      })
      .strict()
      .prefault({}),
    /** Rounds (in async mode, model versions) to train. */
    rounds: int(1, 100_000).default(20),
    devicesPerRound: int(1, 10_000).default(10),
    /** Devices that must be connected before the first round starts. */
    minDevices: int(1, 10_000).default(1),
    /** Updates that must arrive before the deadline for the round to be committed. */
    quorum: int(1, 10_000).default(1),
    deadlineS: z.number().positive().max(86_400).default(120),
    localSteps: int(1, 100_000).default(10),
    batchSize: int(1, 1024).default(8),
    learningRate: z.number().positive().max(1).default(2e-3),
    /**
     * The learning rate over the run's rounds (in async mode, versions): constant, or a linear
     * warm-up then a cosine decay to floor x learningRate at the last round
     * (packages/core/src/train/lr-schedule.ts). Every task carries its round's rate.
     */
    learningRateSchedule: z
      .object({
        kind: z.enum(['constant', 'cosine']).default('constant'),
        warmupRounds: int(0, 100_000).default(0),
        floor: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    policy: PolicySpecSchema.prefault({ kind: 'on-demand' }),
    allowedBits: z.array(BitsSchema).min(1).default([...ALL_BITS]),
    /** Quantization-aware local training at the assigned precision, never below minTrainBits. */
    qat: z
      .object({ enabled: z.boolean().default(true), minTrainBits: BitsSchema.default(8) })
      .strict()
      .prefault({}),
    codec: z
      .object({ blockSize: int(8, 65_536).default(DEFAULT_BLOCK_SIZE), errorFeedback: z.boolean().default(true) })
      .strict()
      .prefault({}),
    /** Precision of the global model sent down: 32 is lossless, so every device starts from the same weights. */
    downlinkBits: z.union([z.literal(16), z.literal(32)]).default(32),
    /** Overrides of the energy model's constants (packages/core/src/energy). */
    energy: EnergyConstantsSchema.prefault({}),
    allowLowBattery: z.boolean().default(false),
    lowBatteryThreshold: z.number().min(0).max(1).default(0.2),
    /** Clip each update to this L2 norm before it is added; null = off. */
    clipNorm: z.number().positive().nullable().default(null),
    /**
     * The norm bound on by default: each update is clipped to this multiple of the global model's L2
     * norm (at least 1) before it is merged, so no device can move the model further than that in
     * one round (norm bounding, Sun et al., arXiv 1911.07963). Honest updates measured 0.01 to 0.07
     * of the model's norm (docs/SECURITY.md); null switches the bound off.
     */
    maxUpdateNormRatio: z.number().positive().max(1000).nullable().default(0.5),
    /**
     * Synchronous rounds only: sum each round's updates in the order of the devices' seats at the
     * end of the round, not as they arrive, so a run whose devices join in a fixed order (the
     * simulator) is a function of its config and seed, bit for bit. Costs one frame per device in
     * memory until the round closes. Async runs depend on timing by design.
     */
    reproducible: z.boolean().default(false),
    /**
     * Client-level differential privacy (DP-FedAvg, packages/core/src/aggregate/gaussian.ts): each
     * update clipped to clipNorm, equal weights, Gaussian noise of noiseMultiplier x clipNorm on the
     * sum; the accountant (packages/core/src/privacy/rdp.ts) reports epsilon at this delta after
     * every round. Synchronous FedAvg only. null = off.
     * With secureAggregation the noise is added by the devices instead, in the integer domain
     * (the distributed discrete Gaussian, packages/core/src/privacy/ddg.ts), planned for `survival`
     * of each round's selected devices (default 0.7): fewer senders and the round is not unmasked.
     */
    privacy: z
      .object({
        noiseMultiplier: z.number().positive().max(100),
        clipNorm: z.number().positive().max(1e6),
        delta: z.number().positive().lt(1).default(1e-5),
        survival: z.number().gt(0).max(1).optional(),
        /**
         * Under secureAggregation: each round's devices flatten their updates by a shared random
         * rotation before rounding (the DDG paper's Algorithm 1, core/privacy/rotation.ts), so the
         * masks are sized for flat coordinates, not for one carrying a device's whole norm: fewer bits
         * a value at the same noise and epsilon (docs/RESULTS.md). Default on; false turns it off.
         */
        rotation: z.boolean().optional(),
      })
      .strict()
      .nullable()
      .default(null),
    /**
     * Secure aggregation (docs/SECURITY.md): the aggregator learns only the sum of a round's
     * updates. Each device encodes its update on the round's common grid (core/quant/grid.ts),
     * masks it (packages/secagg: SecAgg+ on the grid's integers) and takes four steps after
     * training: advertise keys, share keys, masked input, unmasking. Synchronous FedAvg with equal
     * weights only; the norm bound moves to the device (it scales its update to maxUpdateNormRatio x
     * the model's norm, and the grid clips each value to its block's scale).
     * null = off.
     */
    secureAggregation: z
      .object({
        /** Shares needed to rebuild a secret, as a share of a device's neighbors (packages/secagg: 0.4 survives 30% dropout). */
        threshold: z.number().gt(0).max(1).default(0.4),
        /** Seconds each step after training may take; the devices that have not answered by then count as dropped. */
        stepDeadlineS: z.number().positive().max(3600).default(30),
        /** The grid's bound per value; default learningRate x localSteps (Adam moves a weight by about the learning rate per step at most). */
        bound: z.number().positive().max(1e6).nullable().default(null),
        /** After the first round, a block's scale is this many times the last committed mean update's largest |value| in the block (never above the bound). */
        headroom: z.number().min(1).max(1e4).default(4),
      })
      .strict()
      .nullable()
      .default(null),
    /**
     * The weights the run draws its samples (and measures FID-MNIST) with: the exponential moving
     * average of the committed global models, decay per version with the (1 + n) / (10 + n)
     * warm-up (packages/core/src/train/ema.ts). 0 = the latest global model itself. Devices
     * always train from the latest global model; the average is kept in the checkpoint.
     */
    emaDecay: z.number().min(0).lt(1).default(0.9),
    eval: z
      .object({
        /** Evaluate FID-MNIST every N rounds (and after the last); 0 = only after the last. */
        every: int(0, 100_000).default(0),
        /** Evaluate after the last round too. */
        final: z.boolean().default(true),
        samples: int(8, 10_000).default(64),
        sampler: z.enum(['ddim', 'ddpm']).default('ddim'),
        steps: int(2, 4000).default(20),
        /** Classifier-free guidance weight w for the class rows a class-conditional model draws (Ho & Salimans, arXiv 2207.12598). */
        guidance: z.number().min(0).max(20).default(2),
      })
      .strict()
      .prefault({}),
    /**
     * LoRA fine-tuning (docs/LORA.md): devices fetch the frozen `base` once, train only low-rank
     * adapters on it and upload the adapter vector. null (the default) = full training. The fields
     * are packages/diffusion's LoraConfig (resolveLoraConfig validates them: one source); `seed`
     * (of the shared A) defaults to the run's seed.
     */
    lora: z
      .object({
        /** The base model: 'random' (the run's own model config at its seeded init, for tests and smoke runs) or a shipped base (lora-base.ts). */
        base: z.string().min(1).max(64).default('random'),
        rank: int(1, 1024).default(4),
        alpha: z.number().positive().max(1e6).optional(),
        targets: z.array(z.string().min(1).max(100)).min(1).max(64).default(['conv', 'dense']),
        method: z.enum(LORA_METHODS).default('ffa-lora'),
        seed: int(0, 2 ** 31 - 1).optional(),
        baseBits: int(1, 32).default(8),
      })
      .strict()
      .nullable()
      .default(null),
    /** Start rounds as soon as minDevices are connected; otherwise wait for the admin's start. */
    autoStart: z.boolean().default(true),
    /**
     * Split learning (docs/SPLIT.md): every device trains the front of the U-Net up to `cut`, the
     * server the rest from the devices' activations; the fronts are averaged each round
     * (SplitFed). Synchronous rounds only. null = every device trains the whole model.
     */
    split: SplitConfigSchema.nullable().default(null),
  })
  .strict();

export type RunConfigInput = z.input<typeof RunConfigSchema>;
type ParsedRunConfig = z.output<typeof RunConfigSchema>;
/** A resolved run config: the aggregation rule is always set. */
export type RunConfig = Omit<ParsedRunConfig, 'aggregation'> & { aggregation: NonNullable<ParsedRunConfig['aggregation']> };

/**
 * Named starting points a config can build on ({"preset": "classroom", ...overrides}).
 * classroom: what `npm start` runs: buffered async rounds, time-budgeted local work, FedNova, a
 * deadline and buffer that keep a room of phones and laptops busy, and a class-conditional model.
 */
export const RUN_PRESETS = {
  classroom: {
    mode: 'async',
    localWork: 'budget',
    aggregation: { rule: 'fednova' },
    rounds: 200,
    devicesPerRound: 30,
    localSteps: 10,
    deadlineS: 60,
    async: { buffer: 2, maxStaleness: 8 },
    // class-conditional, so a class can ask the model for one digit ("draw a 7") on the device page;
    // 'small', the wider model (docs/RESULTS.md): on wasm a step costs what tiny's does (bench:train,
    // 2026-11-22: 119 against 118 ms at batch 8) and its loss is lower at equal steps.
    model: { size: 'small', classConditional: true },
    // FID-MNIST every 10 versions, so the dashboard's chart fills during a lesson, not only after version 200.
    eval: { every: 10 },
  },
} as const satisfies Record<string, RunConfigInput>;
export type RunPresetName = keyof typeof RUN_PRESETS;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates a run config; the error names the field, what was wrong and what was expected. */
export function resolveRunConfig(input: unknown, source = 'config'): RunConfig {
  const parsed = RunConfigSchema.safeParse(withPreset(input ?? {}, source));
  if (!parsed.success) {
    // Every problem at once, so a config with three mistakes takes one edit, not three runs.
    const problems = parsed.error.issues.map((issue) => describeZodError(new z.ZodError([issue])));
    throw new ConfigError(`${source}: ${problems.map((p) => p.reason).join('; ')}`, problems[0]?.field ?? '');
  }
  const data = parsed.data;
  const config: RunConfig = { ...data, aggregation: data.aggregation ?? { rule: data.localWork === 'budget' ? 'fednova' : 'fedavg', stalenessExponent: 0.5 } };
  if (config.quorum > config.devicesPerRound) {
    throw new ConfigError(`${source}: quorum (${config.quorum}) must be at most devicesPerRound (${config.devicesPerRound})`, 'quorum');
  }
  if (config.privacy && (config.mode !== 'sync' || config.aggregation.rule !== 'fedavg')) {
    throw new ConfigError(`${source}: privacy needs "mode": "sync" and the fedavg rule (the accountant assumes one sampled Gaussian step per round); this config has mode ${config.mode} and rule ${config.aggregation.rule}`, 'privacy');
  }
  if (!(KNOWN_BASES as readonly string[]).includes(config.model.init)) {
    throw new ConfigError(`${source}: model.init: '${config.model.init}' is not a known base model; expected one of ${KNOWN_BASES.map((b) => `'${b}'`).join(', ')}`, 'model.init');
  }
  if (config.lora && config.model.init !== 'random') {
    throw new ConfigError(`${source}: model.init '${config.model.init}' and lora go together only through lora.base: a LoRA run's model is its frozen base; give "lora": {"base": "${config.model.init}"} and leave model.init out`, 'model.init');
  }
  if (config.lora) {
    if (config.split) {
      throw new ConfigError(`${source}: lora and split cannot go together: a LoRA run trains adapters on a frozen base that every device holds whole, a split run cuts the model between device and server; give one of them`, 'lora');
    }
    if (!(KNOWN_BASES as readonly string[]).includes(config.lora.base)) {
      throw new ConfigError(`${source}: lora.base: '${config.lora.base}' is not a known base model; expected one of ${KNOWN_BASES.map((b) => `'${b}'`).join(', ')}`, 'lora.base');
    }
    try {
      resolveLoraConfig({ ...config.lora, seed: config.lora.seed ?? config.seed });
    } catch (error) {
      throw new ConfigError(`${source}: lora: ${(error as Error).message}`, 'lora');
    }
  }
  if (config.split && config.mode !== 'sync') {
    throw new ConfigError(`${source}: split needs "mode": "sync" (the server trains its part from each round's devices and folds it in at the round's commit); this config has mode ${config.mode}`, 'split');
  }
  if (config.secureAggregation) refuseWithSecureAggregation(config, source);
  if (config.privacy?.rotation !== undefined && !config.secureAggregation) {
    throw new ConfigError(`${source}: privacy.rotation flattens the devices' updates before the distributed noise, under secureAggregation only; central privacy adds Gaussian noise to the float sum, with nothing to flatten: remove it, or add "secureAggregation": {}`, 'privacy.rotation');
  }
  if (config.privacy?.survival !== undefined && !config.secureAggregation) {
    throw new ConfigError(`${source}: privacy.survival is the share of a round's devices the distributed noise is planned for, under secureAggregation only; central privacy adds all its noise on the aggregator: remove it, or add "secureAggregation": {}`, 'privacy.survival');
  }
  return config;
}

/** What secure aggregation cannot be combined with, said all at once: the aggregator never sees one update. */
function refuseWithSecureAggregation(config: RunConfig, source: string): void {
  const problems: string[] = [];
  if (config.mode !== 'sync') problems.push(`"mode": "${config.mode}" (secure aggregation runs synchronous rounds: the masks of a round cancel only in that round's sum)`);
  if (config.aggregation.rule !== 'fedavg') problems.push(`the ${config.aggregation.rule} rule (robust rules and FedNova need each update; secure aggregation gives only the sum: use fedavg)`);
  if (config.clipNorm !== null) problems.push(`"clipNorm" (the aggregator cannot clip an update it never sees; the device clips instead, to maxUpdateNormRatio x the model's norm and each value to secureAggregation.bound: set those)`);
  if (config.allowedBits.some((b) => b > 16)) problems.push(`allowedBits with 32 (the masks take integers of at most 16 bits: set allowedBits to e.g. [4, 8])`);
  if (config.policy.kind === 'fixed' && config.policy.bits > 16) problems.push(`policy fixed at ${config.policy.bits} bits (at most 16 under secure aggregation)`);
  if (config.split) problems.push(`"split" (the aggregator trains the back of the model from each device's own activations, which it must see)`);
  if (config.lora) problems.push(`"lora" (secure rounds of adapter vectors are not built or tested yet)`);
  if (config.quorum < 2) problems.push(`"quorum": ${config.quorum} (a sum of one update is that update: at least 2)`);
  if (problems.length) throw new ConfigError(`${source}: secureAggregation cannot be combined with ${problems.join('; ')}`, 'secureAggregation');
}

/** {"preset": name, ...fields}: the preset's fields, then the given ones over them (nested objects merged one level). */
function withPreset(input: unknown, source: string): unknown {
  if (!input || typeof input !== 'object' || !('preset' in input)) return input;
  const { preset, ...rest } = input as Record<string, unknown>;
  if (typeof preset !== 'string' || !(preset in RUN_PRESETS)) {
    throw new ConfigError(`${source}: preset: ${JSON.stringify(preset)} is not a preset; expected one of ${Object.keys(RUN_PRESETS).join(', ')}`, 'preset');
  }
  const base = RUN_PRESETS[preset as RunPresetName] as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(rest)) {
    const under = base[key];
    merged[key] = under && typeof under === 'object' && value && typeof value === 'object' && !Array.isArray(value) ? { ...under, ...value } : value;
  }
  return merged;
}

export function loadConfigFile(path: string): RunConfig {
  if (!existsSync(path)) throw new ConfigError(`config file ${path}: no such file (looked from ${process.cwd()}); expected a JSON run config`, '(file)');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file ${path}: cannot be read (${(error as Error).message})`, '(file)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(error as Error).message}); expected a JSON object`, '(file)');
  }
  return resolveRunConfig(json, `config file ${path}`);
}

/** The admin API may change these between rounds. */
export const ConfigPatchSchema = z
  .object({
    rounds: int(1, 100_000).optional(),
    devicesPerRound: int(1, 10_000).optional(),
    localSteps: int(1, 100_000).optional(),
    quorum: int(1, 10_000).optional(),
    deadlineS: z.number().positive().max(86_400).optional(),
    policy: PolicySpecSchema.optional(),
    localWork: z.enum(['fixed', 'budget']).optional(),
  })
  .strict();
export type ConfigPatch = z.infer<typeof ConfigPatchSchema>;

/** The config a patch makes of `config`; throws, with what is wrong, for a patch the run cannot take (one rule for one node and a cluster's leader). */
export function patchedConfig(config: RunConfig, patch: ConfigPatch): RunConfig {
  const next = { ...config, ...patch };
  if (next.quorum > next.devicesPerRound) throw new Error(`quorum (${next.quorum}) must be at most devicesPerRound (${next.devicesPerRound})`);
  if (next.secureAggregation && next.policy.kind === 'fixed' && next.policy.bits > 16) throw new Error(`policy fixed at ${next.policy.bits} bits: secure aggregation takes at most 16`);
  if (next.secureAggregation && next.quorum < 2) throw new Error('quorum must be at least 2 under secure aggregation (a sum of one update is that update)');
  return next;
}
