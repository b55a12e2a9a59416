// The held-out denoising loss of a run's vector: for a LoRA run, of the base with the adapters
// folded in (what the lora experiment reports beside the Fréchet distance).
import { createModel } from '@fedbit/diffusion';
import { denoisingLoss } from '@fedbit/diffusion/metrics';
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from './config';
import { ModelHost } from './model-host';

describe('ModelHost.denoisingLoss', () => {
  it('scores the effective model of a LoRA vector, the same as that model scored directly', async () => {
    const config = resolveRunConfig({ model: { size: 'tiny' }, lora: { base: 'random', rank: 2, method: 'ffa-lora' } });
    const host = await ModelHost.create(config);
    const direct = createModel(host.modelConfig, 0);
    try {
      const pixels = host.modelConfig.imageSize ** 2 * host.modelConfig.channels;
      const images = Float32Array.from({ length: 6 * pixels }, (_, i) => ((i * 2654435761) % 1000) / 1000);
      const labels = host.modelConfig.numClasses > 0 ? Int32Array.from({ length: 6 }, (_, i) => i % host.modelConfig.numClasses) : undefined;
      const schedule = config.model.schedule;
      const start = host.initialWeights();
      const moved = Float32Array.from(start, (_, i) => 0.05 * Math.sin(i));
      const atStart = await host.denoisingLoss(start, images, 6, labels, 7);
      const atMoved = await host.denoisingLoss(moved, images, 6, labels, 7);
      expect(atMoved).not.toBeCloseTo(atStart, 6);
      direct.setWeights(host.effectiveWeights(moved));
      expect(atMoved).toBeCloseTo(await denoisingLoss(direct, images, 6, labels, { schedule, seed: 7 }), 6);
      direct.setWeights(host.effectiveWeights(start));
      expect(atStart).toBeCloseTo(await denoisingLoss(direct, images, 6, labels, { schedule, seed: 7 }), 6);
    } finally {
      direct.dispose();
      host.dispose();
    }
  }, 120_000);
});
