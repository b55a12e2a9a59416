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
