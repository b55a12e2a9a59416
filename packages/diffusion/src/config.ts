// Named model sizes and the resolved, JSON-serialisable model configuration. Everything that
// shapes the weights lives here, so two devices with the same config have the same layout.

export type ModelSize = 'tiny' | 'small' | 'default';

export interface ModelConfig {
  version: 1;
  size: ModelSize | 'custom';
  /** Square images: height = width = imageSize. */
  imageSize: number;
  /** 1 (grayscale) or 3 (RGB). */
  channels: number;
  /** Channels of the first U-Net level. */
  baseChannels: number;
  /** Channel multiplier per level; each level after the first halves the resolution. */
  channelMults: number[];
  /** Residual blocks per level on the way down (the way up has one more, for the extra skip). */
  resBlocks: number;
  /** Residual blocks in the middle, at the lowest resolution. */
  midBlocks: number;
  /** Width of the time (and label) embedding. */
  embedDim: number;
  /** GroupNorm groups; must divide every channel count. */
  groups: number;
  /** 0 = unconditional; otherwise labels 0..numClasses-1, and numClasses is the "no label" class. */
  numClasses: number;
}

export interface ResolveOptions {
  imageSize: number;
  channels: number;
  numClasses?: number;
}

const PRESETS: Record<ModelSize, Pick<ModelConfig, 'baseChannels' | 'channelMults' | 'resBlocks' | 'midBlocks' | 'embedDim' | 'groups'>> = {
  // 75,589 parameters at 16x16x1: a batch-8 step on wasm in about 80 ms (see README).
  tiny: { baseChannels: 12, channelMults: [1, 2], resBlocks: 1, midBlocks: 1, embedDim: 32, groups: 4 },
  // 142,065 parameters at 16x16x1: tiny's levels, wider. FID-MNIST 7.6 and 9.7 (two seeds) in 8,000
  // central steps of batch 8, where tiny scored 8.6 (one seed; docs/RESULTS.md, training recipe).
  small: { baseChannels: 16, channelMults: [1, 2], resBlocks: 1, midBlocks: 1, embedDim: 64, groups: 4 },
  // 1,058,017 parameters at 28x28x1 (1,059,171 at 32x32x3): the MNIST / emoji model.
  default: { baseChannels: 32, channelMults: [1, 2, 2], resBlocks: 1, midBlocks: 2, embedDim: 128, groups: 8 },
};

export function resolveModelConfig(size: ModelSize, options: ResolveOptions): ModelConfig {
  const preset = PRESETS[size];
  if (!preset) throw new Error(`unknown model size '${String(size)}': expected 'tiny', 'small' or 'default'`);
  return validateModelConfig({
    version: 1,
    size,
    imageSize: options.imageSize,
    channels: options.channels,
    ...preset,
    channelMults: [...preset.channelMults],
    numClasses: options.numClasses ?? 0,
  });
}

/** Checks a config from outside (a welcome message, a model.json) and returns it typed. */
export function validateModelConfig(value: unknown): ModelConfig {
  const c = value as Partial<ModelConfig> | null;
  const fail = (what: string): never => {
    throw new Error(`invalid model config: ${what}`);
  };
  if (!c || typeof c !== 'object') return fail('expected an object');
  if (c.version !== 1) fail(`version ${String(c.version)} is not supported (expected 1)`);
  const positiveInt = (name: keyof ModelConfig, v: unknown, min = 1) => {
    if (!Number.isInteger(v) || (v as number) < min) fail(`${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  positiveInt('imageSize', c.imageSize, 4);
  positiveInt('channels', c.channels);
  positiveInt('baseChannels', c.baseChannels);
  positiveInt('resBlocks', c.resBlocks);
  positiveInt('midBlocks', c.midBlocks, 0);
  positiveInt('embedDim', c.embedDim, 2);
  positiveInt('groups', c.groups);
  positiveInt('numClasses', c.numClasses, 0);
  if ((c.embedDim as number) % 2 !== 0) fail(`embedDim must be even, got ${c.embedDim}`);
  if (!Array.isArray(c.channelMults) || c.channelMults.length === 0) fail('channelMults must be a non-empty array');
  for (const m of c.channelMults as number[]) positiveInt('channelMults', m);
  for (const m of c.channelMults as number[]) {
    const ch = (c.baseChannels as number) * m;
    if (ch % (c.groups as number) !== 0) fail(`groups (${c.groups}) must divide every level's channels (${ch})`);
  }
  if (c.size !== 'tiny' && c.size !== 'small' && c.size !== 'default' && c.size !== 'custom') fail(`size must be 'tiny', 'small', 'default' or 'custom'`);
  return {
    version: 1,
    size: c.size as ModelConfig['size'],
    imageSize: c.imageSize as number,
    channels: c.channels as number,
    baseChannels: c.baseChannels as number,
    channelMults: [...(c.channelMults as number[])],
    resBlocks: c.resBlocks as number,
    midBlocks: c.midBlocks as number,
    embedDim: c.embedDim as number,
    groups: c.groups as number,
    numClasses: c.numClasses as number,
  };
}
