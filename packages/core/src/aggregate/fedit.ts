// FedIT's merge (Zhang et al., "Towards Building the Federated GPT: Federated Instruction Tuning",
// ICASSP 2024, arXiv 2305.05644), the baseline of FFA-LoRA (./ffa-lora.ts): devices train both
// LoRA factors and the server averages A and B separately, as FedAvg over the vector [A | B].
//
// The merge is not exact: the model it gives, W + s (sum_k p_k B_k)(sum_k p_k A_k), is not the
// weighted mean of the devices' models, W + s sum_k p_k B_k A_k; the difference is the cross terms
// B_j A_k (j != k). Two devices, one 1x1 adapter, A = (1, 0), B = (0, 1), equal weights: each
// device's product is 0, the product of the means is 0.25. Kept as the baseline the issue asks for.
import type { LoraLayout } from '../lora/layout';
import { weightedMean } from './weighted-mean';

/** The merged [A | B] vector: the weighted mean of the devices' vectors (or of their deltas). */
export function mergeFedIt(layout: LoraLayout, vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  if (layout.method !== 'fedit') throw new Error(`mergeFedIt needs a 'fedit' layout (A and B), got '${layout.method}': use mergeFfaLora`);
  return weightedMean(vectors, weights, layout.trainableLength, 'FedIT adapter vectors');
}
