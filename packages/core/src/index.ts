export * from './bits';
export * from './vocabulary';
export * from './random/index';
export * from './quant';
export * from './energy';
export * from './policy';
export * from './aggregate';
export * from './protocol';
