// The split-learning settings of a run (Zhang, Ni, Wang, arXiv 2412.06414: a pruned device-side
// model, quantized gradients, activation dropout at the cut; SplitFed, Thapa et al., arXiv
// 2004.12088): one schema both sides read, so the device and the server agree on what crosses.
import { z } from 'zod';
import { BitsSchema } from '../protocol/schemas';

export const SplitConfigSchema = z
  .object({
    /** Down-path stages the device keeps (1 = the input convolution only; the model's stage count = the whole down path). */
    cut: z.number().int().min(1).max(64).default(1),
    /** Share of the split activations dropped at random each step (rescaled by 1/(1-p)); 0 = none. */
    dropout: z.number().min(0).max(0.95).default(0),
    /** Precision of the activations the device sends (the codec: 1-8 uniform, 16 half, 32 float). */
    activationBits: BitsSchema.default(32),
    /** Precision of the gradients at the cut the server sends back. */
    gradientBits: BitsSchema.default(32),
    /** Share of the device part's weights kept by magnitude pruning (1 = no pruning); with minKeepRatio, the most a device keeps. */
    keepRatio: z.number().gt(0).max(1).default(1),
    /**
     * The least share a device keeps. Set (below keepRatio), the server picks each device's keep
     * ratio in [minKeepRatio, keepRatio] from its speed and demand every round (capacity.ts);
     * absent, every device keeps keepRatio.
     */
    minKeepRatio: z.number().gt(0).max(1).optional(),
    /**
     * false: every device trains split. true: the server picks, per device and round, full training
     * or split training, whichever its modelled energy is lower for (choice.ts), and mixed rounds
     * merge as SplitFedV1 (docs/SPLIT.md, "Mixed rounds").
     */
    perDevice: z.boolean().default(false),
    /**
     * How the server holds the back: 'shared', one part every device's steps train in turn
     * (SplitFedV2), or 'per-device', a copy per split device, averaged with the round's updates
     * (SplitFedV1). Absent: 'per-device' with perDevice (mixed rounds need it), else 'shared'.
     */
    server: z.enum(['shared', 'per-device']).optional(),
  })
  .strict()
  .refine((s) => !(s.perDevice && s.server === 'shared'), {
    error: 'server "shared" cannot merge rounds where some devices train whole (docs/SPLIT.md, "Mixed rounds"): with perDevice, give server "per-device" or leave it out',
    path: ['server'],
  })
  .refine((s) => s.minKeepRatio === undefined || s.minKeepRatio <= s.keepRatio, {
    error: (issue) => `minKeepRatio (${String((issue.input as { minKeepRatio?: number }).minKeepRatio)}) must be at most keepRatio (${String((issue.input as { keepRatio?: number }).keepRatio ?? 1)})`,
    path: ['minKeepRatio'],
  });

export type SplitConfigInput = z.input<typeof SplitConfigSchema>;
export type SplitConfig = z.output<typeof SplitConfigSchema>;

export function resolveSplitConfig(input: SplitConfigInput = {}): SplitConfig {
  return SplitConfigSchema.parse(input);
}
