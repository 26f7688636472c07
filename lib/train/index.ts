export * from './types';
export * from './loop';
export * from './fit';
export * from './callbacks';
export * from './resume';
export * from './forward';
export * from './losses';
export * from './optimizers';
export * from './step';
export * from './multi-output';
export * from './checkpoint';
export * from './history';
export * from './lock';
export * from './weights';
export * from './classWeights';
export * from './sweep';
export * from './microbatch';
export * from './frozen-prefix';
export {
  parallelStep,
  shardsOf,
  shardsOfSize,
  type ParallelStep,
  type ParallelStepOptions,
} from './parallel';
