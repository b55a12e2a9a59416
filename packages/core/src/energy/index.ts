export { DEFAULT_ENERGY_CONSTANTS, DEVICE_CLASSES, EnergyConstantsSchema, resolveEnergyConstants, type DeviceClass, type EnergyConstants } from './constants';
export {
  computeEnergyJ,
  dbmToWatts,
  deviceRoundCost,
  macEnergyJ,
  transmitEnergyJ,
  transmitSeconds,
  wattsToDbm,
  type DeviceRoundCost,
  type DeviceRoundInput,
} from './model';
