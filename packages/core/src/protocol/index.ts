export * from './schemas';
export * from './limits';
export * from './status';
