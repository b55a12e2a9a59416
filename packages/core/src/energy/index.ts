export { DEFAULT_ENERGY_CONSTANTS, EnergyConstantsSchema, resolveEnergyConstants, type EnergyConstants } from './constants';
export {
  computeEnergyJ,
  dbmToWatts,
  deviceRoundCost,
  macEnergyJ,
  transmitEnergyJ,
  receiveEnergyJ,
  transmitSeconds,
  wattsToDbm,
  type DeviceRoundCost,
  type DeviceRoundInput,
} from './model';
export { costOfRound, deviceCostInput, trainBitsFor, type DeviceEnergyProfile, type RoundWork } from './device-cost';
export { TRAIN_SHARE_OF_DEADLINE, anotherStepFits, planLocalWork, type LocalWork, type LocalWorkInput } from './local-work';
export { Ewma, LINK_SAMPLE_LIMITS, linkRateBps } from './link-rate';
