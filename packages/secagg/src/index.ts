export { SecAggDevice, SecAggServer, bytesPerDevice, setupRound, type Advert, type Revealed, type RoundSetup, type SealedShares } from './protocol';
export { neighborGraph } from './graph';
export { combine, split, type Share } from './shamir';
