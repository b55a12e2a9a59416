export * from './config';
export * from './server';
export * from './store';
export * from './status';
export { Coordinator, selectDevices, type Transport } from './round';
export { secretEquals, TokenBucket } from './sockets';
