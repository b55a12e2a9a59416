// What the first step of a cluster of aggregator nodes runs (docs/SCALE.md, section 3): synchronous
// rounds of the whole model merged with FedAvg or FedNova. A config asking for more is refused at
// start with every reason at once.
import type { RunConfig } from '../config';

/** Why a run config cannot run on a cluster (what the first step of issue 17, item 3 covers), or null. */
export function clusterConfigProblem(config: RunConfig): string | null {
  const problems: string[] = [];
  if (config.mode !== 'sync') problems.push(`"mode": "${config.mode}" (buffered async rounds)`);
  if (config.split) problems.push('"split" (split learning)');
  if (config.lora) problems.push('"lora" (LoRA fine-tuning)');
  if (config.secureAggregation) problems.push('"secureAggregation"');
  if (config.privacy) problems.push('"privacy" (differential privacy)');
  if (config.reproducible) problems.push('"reproducible": true (a fixed-order sum needs every frame on one node)');
  if (config.aggregation.rule !== 'fedavg' && config.aggregation.rule !== 'fednova') problems.push(`the ${config.aggregation.rule} rule (only sums split into partial sums)`);
  if (problems.length === 0) return null;
  return `a cluster of aggregator nodes runs synchronous rounds of the whole model merged with fedavg or fednova; this config asks for ${problems.join(', ')}: run it on one node (without --redis), or change the config`;
}
