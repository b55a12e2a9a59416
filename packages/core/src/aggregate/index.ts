export type { Aggregator, PartialSum, UpdateInfo } from './aggregator';
export {
  AggregatorSpecSchema,
  FedAvgSpecSchema,
  FedNovaSpecSchema,
  MedianSpecSchema,
  TrimmedMeanSpecSchema,
  createAggregator,
  type AggregatorOptions,
  type AggregatorRule,
  type AggregatorSpec,
  type AggregatorSpecInput,
} from './spec';
export { WeightedMeanAggregator } from './rules';
export { CoordinateRobustAggregator } from './robust';
export { OrderedAggregator } from './ordered';
export { fedNovaEffectiveSteps, fedNovaScale } from './fednova';
export { DEFAULT_STALENESS_EXPONENT, stalenessDiscount } from './staleness';
export { StreamingAggregator, type AddedUpdate, type StreamingAggregatorOptions } from './streaming';
export { NaiveAggregator } from './naive';
export { jsMergeKernel, type MergeKernel, type RunningSum } from './kernel';
export { fedAvgWeights } from './fedavg';
export { clipFactor } from './clip';
export { GaussianNoiseAggregator, type GaussianNoiseOptions } from './gaussian';
export { mergeFfaLora } from './ffa-lora';
export { mergeFedIt } from './fedit';
export { weightedMean } from './weighted-mean';
