export { DEFAULT_THRESHOLD_RATIO, SecAggDevice, SecAggServer, bytesPerDevice, setupRound, type Advert, type Revealed, type RoundSetup, type SealedShares } from './protocol';
export { neighborGraph } from './graph';
export { SHARE_BYTES, bigIntToBytes, bytesToBigInt, combine, split, type Share } from './shamir';
export { fromBase64url, generateKeyPair, toBase64url, type KeyPair } from './crypto';
export { SEALED_BYTES, maskedBytes, packMasked, unpackMasked } from './wire';
