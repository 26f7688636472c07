export { KerasBatchNormalization } from './batch-norm';
export { buildClassifier, HEAD_LAYER_NAMES } from './classifier';
export type { ClassifierOptions } from './classifier';
export { freezeBase, freezeBlocks, xceptionBlockOf, XCEPTION_BLOCKS } from './freeze';
export { preprocessInput } from './preprocess';
export type { BackboneKind } from './preprocess';
export { buildResNet50 } from './resnet50';
export type { ResNet50Options } from './resnet50';
export { SeededDropout, setDropoutStep } from './seeded-dropout';
export { buildXception } from './xception';
export type { XceptionOptions } from './xception';
export { scaleChannels } from './width';
export { loadKerasWeights, readKerasWeightFile } from './keras-weights';
export type { KerasFileLayer, LoadKerasWeightsResult } from './keras-weights';
export { CHECKPOINT_FORMAT_VERSION, fileSystemHandler, MODEL_JSON } from './fs-handler';
export type { CheckpointInfo, FileSystemHandlerOptions, SaveStep } from './fs-handler';
export { modelSummaryRows, paramCounts, weightedLayerCount } from './summary';
export type { ParamCounts, SummaryRow } from './summary';
export {
  DEFAULT_WEIGHTS_DIR,
  downloadFile,
  downloadKerasWeights,
  KERAS_WEIGHT_FILES,
  kerasWeightsPath,
} from './weight-files';
export type { DownloadOptions, FetchLike, KerasWeightFile } from './weight-files';
export { recalibrateBatchNorm } from './recalibrate';
