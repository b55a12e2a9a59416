export { StreamingAggregator, type AddedUpdate, type StreamingAggregatorOptions } from './streaming';
export { NaiveAggregator } from './naive';
export { fedAvgWeights } from './fedavg';
export { clipFactor } from './clip';
