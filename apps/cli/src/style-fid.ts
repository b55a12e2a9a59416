// The command line's entry to the style Fréchet distance (NOT Inception FID; see
// packages/diffusion/src/metrics/style.ts): the committed emoji style classifier and styleFid.
export { sharedStyleClassifier as loadStyleClassifier, styleFid, styleReferenceImages } from '@fedbit/diffusion/node';
