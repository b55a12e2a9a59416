// The words both sides use, spelled once. Schemas (protocol/), the energy model, the policies, the
// device runtime, the simulator's profiles and the web app all take their lists and types from here.

/** The person's own choice where the battery is not reported (and a price on energy where it is). */
export const PREFERENCES = ['save-battery', 'balanced', 'best-quality'] as const;
export type Preference = (typeof PREFERENCES)[number];

/** Coarse hardware class of a device; picks the memory-traffic factor and the default throughput. */
export const DEVICE_CLASSES = ['phone', 'laptop', 'desktop'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

/** TensorFlow.js backends, in the order a browser tries them. */
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export const PLATFORMS = ['browser', 'node'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** A run's phase, as the dashboard and the devices see it. */
export const RUN_PHASES = ['waiting', 'training', 'paused', 'done', 'stopped'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export const DATASETS = ['mnist', 'emoji'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const PARTITIONS = ['iid', 'dirichlet', 'vendor'] as const;
export type PartitionKind = (typeof PARTITIONS)[number];

/** What the aggregator knows a device to be doing. */
export const DEVICE_STATES = ['idle', 'training', 'uploaded', 'offline', 'left'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** How a run merges updates: synchronous rounds, or buffered asynchronous versions (FedBuff). */
export const RUN_MODES = ['sync', 'async'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/**
 * How LoRA adapters are trained and merged (./lora/, ./aggregate/ffa-lora.ts, ./aggregate/fedit.ts):
 * FFA-LoRA trains and averages B only, with A frozen at a shared seeded init (exact merge); FedIT
 * trains and averages both A and B (the baseline; its merge is not exact).
 */
export const LORA_METHODS = ['ffa-lora', 'fedit'] as const;
export type LoraMethod = (typeof LORA_METHODS)[number];
