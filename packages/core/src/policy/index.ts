export {
  DEFAULT_LOW_BATTERY_THRESHOLD,
  type Assignment,
  type DeviceDemand,
  type PolicyContext,
  type PrecisionOption,
  type PrecisionPolicy,
} from './types';
export { batteryIsLow } from './common';
export { deviceDemand, normSqPrior, type DemandInput, type DemandSettings } from './demand';
export { assignFixed, fixedPolicy, DEFAULT_FIXED_PARAMS, type FixedParams } from './fixed';
export { onDemandPolicy, onDemandPrice, roundErrorBound, solveOnDemand, DEFAULT_ON_DEMAND_PARAMS, type OnDemandParams, type OnDemandSolution } from './on-demand';
export { adaQuantFLPolicy, adaQuantLevels, assignAdaQuantFL, DEFAULT_ADAQUANTFL_PARAMS, type AdaQuantFLParams } from './adaquantfl';
export { assignDAdaQuant, dadaQuantClientLevels, dadaQuantLevels, dadaQuantPolicy, DEFAULT_DADAQUANT_PARAMS, type DAdaQuantParams } from './dadaquant';
export {
  AdaQuantFLSpecSchema,
  createPolicy,
  DAdaQuantSpecSchema,
  FixedSpecSchema,
  OnDemandSpecSchema,
  PolicySpecSchema,
  type PolicyKind,
  type PolicySpec,
  type PolicySpecInput,
} from './spec';
