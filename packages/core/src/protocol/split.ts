// The split-learning messages (docs/SPLIT.md; Zhang, Ni, Wang, arXiv 2412.06414; SplitFed, Thapa et
// al., arXiv 2004.12088). Per local step the device sends split:forward with the activation frame
// at the cut as a binary attachment; the acknowledgement carries the loss and the gradient frame
// at the cut. split:end after the last step. The device part itself goes up through device:update.
import { z } from 'zod';
import { BitsSchema } from './schemas';

const uint32 = () => z.number().int().min(0).max(0xffffffff);

/** What a split task tells the device (the run's split config, resolved). */
export const SplitTaskSchema = z.object({
  cut: z.number().int().min(1).max(64),
  dropout: z.number().min(0).max(0.95),
  activationBits: BitsSchema,
  gradientBits: BitsSchema,
  keepRatio: z.number().gt(0).max(1),
});

export const SplitForwardSchema = z
  .object({
    round: z.number().int().positive(),
    /** 1, 2, ... within the round: the server expects exactly the next one from this device. */
    step: z.number().int().positive().max(1e6),
    /** Images in the step: the task's batch size. */
    batch: z.number().int().positive().max(1024),
    /** Seed of the dropout mask (which activations travel) and of the noise target eps. */
    dropSeed: uint32(),
    noiseSeed: uint32(),
    /** The images' timesteps are not sent: the embedding they give crosses the cut instead. */
  })
  .strict();

/** The acknowledgement of split:forward (the gradient frame follows as a binary attachment). */
export const SplitBackwardSchema = z.object({
  round: z.number().int().positive(),
  step: z.number().int().positive(),
  loss: z.number(),
});

export const SplitEndSchema = z
  .object({
    round: z.number().int().positive(),
    steps: z.number().int().positive().max(1e6),
  })
  .strict();

export type SplitTask = z.infer<typeof SplitTaskSchema>;
export type SplitForward = z.infer<typeof SplitForwardSchema>;
export type SplitBackward = z.infer<typeof SplitBackwardSchema>;
export type SplitEnd = z.infer<typeof SplitEndSchema>;
