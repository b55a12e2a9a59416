export type { Aggregator } from './aggregator';
export { AggregatorSpecSchema, FedAvgSpecSchema, createAggregator, type AggregatorOptions, type AggregatorRule, type AggregatorSpec, type AggregatorSpecInput } from './spec';
export { StreamingAggregator, type AddedUpdate, type StreamingAggregatorOptions } from './streaming';
export { NaiveAggregator } from './naive';
export { fedAvgWeights } from './fedavg';
export { clipFactor } from './clip';
