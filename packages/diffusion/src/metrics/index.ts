// @fedbit/diffusion/metrics: FID-MNIST (NOT Inception FID) and diversity of generated digits.
export {
  CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, CLASSIFIER_FORMAT, CLASSIFIER_INPUT, CLASSIFIER_SHAPES, CLASSIFIER_VERSION,
  classifierForward, classifierToJson, createMnistClassifierFromJson, toClassifierInput,
  type ClassifierJson, type ClassifierOutput, type ClassifierWeights, type MnistClassifier,
} from './classifier';
export { classEntropyBits, inceptionScore } from './diversity';
export { featureStats, frechetDistance, type GaussianStats } from './frechet';
export { matmul, sqrtPsd, symmetricEigen } from './linalg';
export { CLASSIFIER_URL, loadMnistClassifier } from './load';
export { evaluateQuality, referenceStats, sharedMnistClassifier, type QualityInput, type QualityReport } from './quality';
export {
  STYLE_CATEGORIES, STYLE_CLASSES, STYLE_CLASSIFIER_FORMAT, STYLE_CLASSIFIER_VERSION, STYLE_FEATURES, STYLE_INPUT, STYLE_SHAPES, STYLE_VENDORS,
  createStyleClassifierFromJson, styleClassOf, styleClassifierToJson, styleForward, type StyleClassifier, type StyleClassifierJson,
} from './style-classifier';
export { STYLE_CLASSIFIER_URL, loadStyleClassifier } from './load';
export { styleFrechet, styleStats } from './style';
export { denoisingLoss, type DenoisingLossOptions } from './denoising-loss';
