// One task of a LoRA fine-tuning run (docs/LORA.md; LoRA: Hu et al., arXiv 2106.09685; FFA-LoRA:
// Sun et al., arXiv 2403.12313), the sibling of train-round.ts: the task's model frame is the global
// adapter vector; it is set on the adapters attached to the frozen base this device fetched once
// (lora-env.ts), only the adapters train (B for FFA-LoRA, A and B for FedIT), and the update is the
// adapter vector's change, through the same error feedback and codec at the precision the policy
// picked. The loop itself is train-round.ts's trainTarget: one loop for both modes.
import type { Task } from '@fedbit/core';
import type { TrainEnv } from './train-env';
import { trainTarget, type TrainHooks, type TrainedUpdate } from './train-round';

export async function trainLoraRound(env: TrainEnv, task: Task, adapterFrame: Uint8Array, hooks: TrainHooks): Promise<TrainedUpdate | null> {
  const lora = env.lora;
  if (!lora) throw new Error(`task ${task.round} is a LoRA task, but this device holds no base with adapters: the welcome named none`);
  return trainTarget({ model: lora, length: lora.paramCount, set: (v) => lora.setAdapters(v), read: () => lora.readAdapters() }, env, task, adapterFrame, hooks);
}
