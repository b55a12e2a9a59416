export * from './ema';
export * from './lr-schedule';
