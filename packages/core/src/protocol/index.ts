export * from './schemas';
export * from './limits';
export * from './status';
export * from './server-messages';
export * from './model-path';
export * from './split';
export * from './secagg';
export * from './device-page';
