// Simulated Byzantine devices, for the robustness experiment only (a real device never runs this):
// a device that trains honestly and then uploads a distorted update. The two attacks of the
// literature on robust aggregation: sign flipping (the update reversed and amplified, e.g. Fang et
// al., "Local Model Poisoning Attacks to Byzantine-Robust Federated Learning", USENIX Security
// 2020, arXiv 1911.11815) and scaling (the update amplified, as in model replacement, Bagdasaryan
// et al., "How To Backdoor Federated Learning", AISTATS 2020, arXiv 1807.00459).
import { z } from 'zod';

export const AttackSchema = z
  .object({
    kind: z.enum(['sign-flip', 'scale']),
    /** sign-flip uploads -factor x the update; scale uploads factor x the update. */
    factor: z.number().positive().max(1e6),
  })
  .strict();
export type Attack = z.infer<typeof AttackSchema>;

/** The update this attacker uploads instead of `update` (in place). */
export function applyAttack(update: Float32Array, attack: Attack): Float32Array {
  const factor = attack.kind === 'sign-flip' ? -attack.factor : attack.factor;
  for (let i = 0; i < update.length; i++) update[i] *= factor;
  return update;
}
