export * from './bits';
export * from './random';
export * from './quant';
export * from './energy';
export * from './policy';
export * from './aggregate';
export * from './protocol';
