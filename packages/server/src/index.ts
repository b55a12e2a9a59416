export * from './config';
export * from './server';
export * from './store';
export * from './status';
export { Coordinator } from './round/coordinator';
export { selectDevices } from './round/selection';
export type { Transport } from './transport/transport';
export { secretEquals, TokenBucket } from './transport/rate-guard';
