// Full fine-tuning from a shipped base (model.init): the run's model, starting vector and
// config are the base's, as the LoRA runs it is compared with start from; bad names are refused.
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveRunConfig } from './config';
import { baseResource, resolveBase } from './lora-base';
import { ModelHost } from './model-host';

const emoji32 = { dataset: { name: 'emoji', imageSize: 32, partition: 'vendor', shards: 2, groups: ['twitter', 'facebook'] } } as const;

describe('model.init', () => {
  it('starts full training from the shipped base: its config, and its 16-bit weights as the first version', async () => {
    const config = resolveRunConfig({ ...emoji32, model: { size: 'tiny', init: 'emoji-base' } });
    const host = await ModelHost.create(config);
    try {
      const base = baseResource(await resolveBase('emoji-base', host.modelConfig, 1));
      expect(host.modelConfig).toMatchObject({ size: 'default', imageSize: 32, channels: 3, numClasses: 9 });
      expect(host.lora).toBeNull();
      expect(host.paramCount).toBe(1_060_451);
      const start = host.initialWeights();
      expect(start).toEqual(base.weights);
      // Each caller gets its own copy: the run's vector moving on does not move the start.
      start.fill(0);
      expect(host.initialWeights()).toEqual(base.weights);
    } finally {
      host.dispose();
    }
  }, 120_000);

  it('refuses an unknown base, and model.init beside lora', () => {
    expect(() => resolveRunConfig({ model: { init: 'sdxl' } })).toThrow(ConfigError);
    expect(() => resolveRunConfig({ model: { init: 'sdxl' } })).toThrow(/model.init: 'sdxl' is not a known base model; expected one of 'random', 'emoji-base'/);
    expect(() => resolveRunConfig({ ...emoji32, model: { init: 'emoji-base' }, lora: { base: 'emoji-base' } })).toThrow(/lora.base/);
    expect(resolveRunConfig({}).model.init).toBe('random');
  });
});
