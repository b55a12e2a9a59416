export { SplitConfigSchema, resolveSplitConfig, type SplitConfig, type SplitConfigInput } from './config';
export { dropAndPack, gradientThroughDropout, keepMask, keptCount, unpack } from './dropout';
export { cutFrameBytes, decodeCut, encodeCut, splitNoise } from './frames';
export { applyMask, keepRatioFor, magnitudeMask } from './prune';
export { splitMacsPerStep, splitRoundWork, splitTraffic, type SplitRoundInput, type SplitTraffic } from './energy';
export { demandShare, splitKeepRatio, SAVE_BATTERY_SHARE, type DeviceDemandState, type KeepRatioInput } from './capacity';
export { chooseTrainingMode, modeCosts, TRAINING_MODES, type ModeChoice, type ModeCost, type ModeCostInput, type TrainingMode } from './choice';
