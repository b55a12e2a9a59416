export * from './constants';
export * from './model';
