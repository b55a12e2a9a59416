import { describe, expect, it } from 'vitest';
import { resolveModelConfig } from './config';
import { loraLayout, macsPerLoraTrainStep } from './lora-config';
import { macsPerTrainStep } from './net';

describe('macsPerLoraTrainStep', () => {
  it('prices a LoRA step as full training plus forming and differentiating each adapted kernel delta, independent of the batch', () => {
    const model = resolveModelConfig('tiny', { imageSize: 16, channels: 1 });
    const layout = loraLayout(model, { rank: 4, seed: 1 });
    const delta = layout.adapters.reduce((n, a) => n + a.rank * a.fanIn * a.fanOut, 0);
    for (const batch of [1, 8]) expect(macsPerLoraTrainStep(model, layout, batch)).toBe(macsPerTrainStep(model, batch) + 3 * delta);
    // A narrower target set adds less.
    const dense = loraLayout(model, { rank: 4, seed: 1, targets: ['dense'] });
    expect(macsPerLoraTrainStep(model, dense, 8)).toBeLessThan(macsPerLoraTrainStep(model, layout, 8));
    expect(macsPerLoraTrainStep(model, dense, 8)).toBeGreaterThan(macsPerTrainStep(model, 8));
  });
});
