export { RDP_ORDERS, composeRdp, epsilonOf, roundRdp, sampledGaussianRdp } from './rdp';
export { cryptoUniform, sampleDiscreteGaussian, sampleDiscreteLaplace, type Uniform } from './discrete-gaussian';
export { DDG_BETA, DDG_MAX_MODULUS_BITS, DDG_WRAP_PROBABILITY, countWraps, ddgIntegers, ddgSumBound, decodeDdgMean, encodeDdg, planDdg, roundedNormBound, signedSum, type DdgPlan, type DdgPlanInput } from './ddg';
export { rotate, rotationBlock, unrotate, walshHadamard } from './rotation';
export { ddgRdp, ddgRoundRdp, ddgTau, poissonSubsampledRdp, type DdgRoundParams } from './ddg-rdp';
