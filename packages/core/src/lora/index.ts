export { buildLoraLayout, loraBlocks, loraDelta, sharedA, type LoraAdapterEntry, type LoraAdapterShape, type LoraLayout } from './layout';
