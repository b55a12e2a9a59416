// The weighted mean of whole vectors, for the rules that merge in one step from every device's
// vector (the LoRA merges: ./ffa-lora.ts, ./fedit.ts). Float64 sums, as the streaming sum keeps.
import { assertWeight } from './weight';

/** sum_k w_k v_k / sum_k w_k, every vector `length` long. `what` names the vectors in errors. */
export function weightedMean(vectors: readonly Float32Array[], weights: readonly number[], length: number, what: string): Float32Array {
  if (vectors.length === 0) throw new RangeError(`no ${what} to merge: expected at least one`);
  if (weights.length !== vectors.length) throw new RangeError(`${vectors.length} ${what} but ${weights.length} weights: expected one weight per vector`);
  const sum = new Float64Array(length);
  let total = 0;
  vectors.forEach((v, k) => {
    if (v.length !== length) throw new RangeError(`${what} ${k} has ${v.length} values, expected ${length}`);
    assertWeight(weights[k]);
    for (let i = 0; i < length; i++) sum[i] += weights[k] * v[i];
    total += weights[k];
  });
  return Float32Array.from(sum, (s) => s / total);
}
