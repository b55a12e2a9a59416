export { exportGraphModel, GRAPH_WEIGHTS_FILE, type GraphExportOptions, type GraphModelJson } from './graph-model';
export { decodeSafetensors, encodeSafetensors, exportSafetensors, importSafetensors, SAFETENSORS_FILE, torchName, torchShape } from './safetensors';
export { exportModelFile, exportModelFiles, FEDBIT_MODEL_FILE, GRAPH_MODEL_FILE, isModelFile, MODEL_FILES, type ModelFileInfo, type ModelFileName } from './files';
