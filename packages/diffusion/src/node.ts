// @fedbit/diffusion/node: the Node-only readers (files on disk, the emoji dataset).
export { loadPretrainedBase, MODELS_DIR } from './pretrained-node';
export { sharedStyleClassifier, styleFid, styleReference, styleReferenceImages } from './metrics/style-node';
