// FFA-LoRA's merge (Sun, Li, Li, Ding, "Improving LoRA in Privacy-preserving Federated Learning",
// ICLR 2024, arXiv 2403.12313): every device keeps LoRA's A frozen at the same seeded init
// (../lora/layout.ts sharedA) and trains only B; the server averages the B matrices.
//
// The merge is exact. Device k's adapted weight is W + s B_k A with one A for all, so for weights
// p_k summing to 1,  sum_k p_k (W + s B_k A) = W + s (sum_k p_k B_k) A:  the merged adapter gives
// exactly the weighted mean of the devices' models, what FedAvg of the full weights would give,
// while only B (fanOut x r per layer) goes up. The same holds for deltas from the global B, so the
// streaming fedavg rule over encoded B deltas (./rules.ts) computes this merge as frames arrive;
// this function is the rule over whole vectors and the reference the tests hold the seam to.
import type { LoraLayout } from '../lora/layout';
import { weightedMean } from './weighted-mean';

/** The merged B block: the weighted mean of the devices' B vectors (or of their deltas). */
export function mergeFfaLora(layout: LoraLayout, bVectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  if (layout.method !== 'ffa-lora') throw new Error(`mergeFfaLora needs an 'ffa-lora' layout (B only), got '${layout.method}': use mergeFedIt`);
  return weightedMean(bVectors, weights, layout.trainableLength, 'FFA-LoRA B vectors');
}
