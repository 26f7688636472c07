import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { profiles, type StageConfig } from '../config/profiles';
import { freezeBase, freezeBlocks, preprocessInput, setDropoutStep } from '../models';
import { loadCheckpointWeights, readCheckpoint } from './checkpoint';
import { train, type TrainCallbacks, type TrainResult } from './loop';
import { runSweep, type SweepCallbacks, type SweepResult } from './sweep';
import type { BatchSource } from './types';
import { optional } from '../util/object';

/**
 * The first study's two training phases with the seed's settings as defaults (profiles.full):
 * pretraining (base frozen, new head, RMSprop 1e-3, 25 epochs, batch 16) and fine-tuning (first N
 * Xception blocks frozen, SGD 1e-4 momentum 0.9, 50 epochs, batch 16, from the pretrained
 * weights), plus the block sweep over N. A profile's `pretrain` / `finetune` section replaces the
 * defaults as a whole.
 */
export interface RecipeOptions {
  trainSource: BatchSource;
  valSource: BatchSource;
  outDir: string;
  seed: number;
  /** Epochs, batch size and optimizer; defaults to the seed's for the phase. */
  stage?: StageConfig;
  classWeights?: number[];
  /** Images per micro-batch; null/omitted = chosen from what fits (lib/train/microbatch.ts). */
  microBatch?: number | null;
  callbacks?: TrainCallbacks;
  signal?: AbortSignal;
  log?: ((line: string) => void) | null;
}

function xceptionPreprocess(x: tf.Tensor4D): tf.Tensor4D {
  return preprocessInput('xception', x);
}

/** One phase of the study: the loop with Xception's preprocessing and repeatable dropout. */
function trainPhase(
  o: RecipeOptions & { model: tf.LayersModel },
  stage: StageConfig,
  identity: Record<string, unknown>,
  label: string,
): Promise<TrainResult> {
  return train({
    model: o.model,
    optimizer: stage.optimizer,
    trainSource: o.trainSource,
    valSource: o.valSource,
    epochs: stage.epochs,
    batchSize: stage.batchSize,
    outDir: o.outDir,
    seed: o.seed,
    preprocess: xceptionPreprocess,
    setDropoutStep,
    identity,
    label,
    ...optional('classWeights', o.classWeights),
    ...optional('microBatch', o.microBatch),
    ...optional('callbacks', o.callbacks),
    ...optional('signal', o.signal),
    ...optional('log', o.log),
  });
}

/** Pretraining: only the head (avg_pool, fc1, dropout, predictions) trains. */
export function pretrain(o: RecipeOptions & { model: tf.LayersModel }): Promise<TrainResult> {
  freezeBase(o.model);
  return trainPhase(o, o.stage ?? profiles.full.pretrain, { phase: 'pretrain' }, 'pretrain');
}

function pretrainedDir(dir: string): string {
  const direct = readCheckpoint(dir);
  return direct ? dir : path.join(dir, 'checkpoint');
}

/** Fine-tuning with the first `blocks` Xception blocks frozen, from a pretraining run's weights. */
export function finetune(
  o: RecipeOptions & { model: tf.LayersModel; fromCheckpoint: string; blocks: number },
): Promise<TrainResult> {
  const manifest = loadCheckpointWeights(o.model, pretrainedDir(o.fromCheckpoint), true);
  freezeBlocks(o.model, o.blocks);
  return trainPhase(
    o,
    o.stage ?? profiles.full.finetune,
    { phase: 'finetune', frozenBlocks: o.blocks, pretrained: manifest.weightsSha256 },
    `block${o.blocks}`,
  );
}

/** The block sweep with Xception's freezing and preprocessing and the fine-tuning schedule. */
export function blockSweep(
  o: Omit<RecipeOptions, 'callbacks'> & {
    blocks: number[];
    fromCheckpoint: string;
    buildModel: () => tf.LayersModel;
    callbacks?: SweepCallbacks;
    evalBatchSize?: number;
  },
): Promise<SweepResult> {
  const stage = o.stage ?? profiles.full.finetune;
  return runSweep({
    blocks: o.blocks,
    fromCheckpoint: o.fromCheckpoint,
    buildModel: o.buildModel,
    freeze: freezeBlocks,
    optimizer: stage.optimizer,
    trainSource: o.trainSource,
    valSource: o.valSource,
    epochs: stage.epochs,
    batchSize: stage.batchSize,
    outDir: o.outDir,
    seed: o.seed,
    preprocess: xceptionPreprocess,
    setDropoutStep,
    ...optional('classWeights', o.classWeights),
    ...optional('callbacks', o.callbacks),
    ...optional('signal', o.signal),
    ...optional('log', o.log),
    ...optional('evalBatchSize', o.evalBatchSize),
    ...optional('microBatch', o.microBatch),
  });
}
