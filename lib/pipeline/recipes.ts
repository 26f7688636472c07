import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { profiles, type StageConfig } from '../config/profiles';
import { freezeBase, freezeBlocks, preprocessInput, setDropoutStep } from '../models';
import { loadCheckpointWeights, readCheckpoint } from '../train/checkpoint';
import { train, type TrainOptions, type TrainResult } from '../train/loop';
import {
  mergeSweep,
  runSweep,
  sweepMember,
  type SweepMemberResult,
  type SweepOptions,
  type SweepResult,
} from '../train/sweep';

/**
 * The first study's two training phases with the seed's settings as defaults (profiles.full):
 * pretraining (base frozen, new head, RMSprop 1e-3, 25 epochs, batch 16) and fine-tuning (first N
 * Xception blocks frozen, SGD 1e-4 momentum 0.9, 50 epochs, batch 16, from the pretrained
 * weights), plus the block sweep over N and its units. A profile's `pretrain` / `finetune`
 * section replaces the defaults as a whole. This is where Xception's preprocessing, its freezing
 * by block and the repeatable dropout are chosen; lib/train knows none of them.
 *
 * The step is the trainer's default: whole batches, or micro-batches where a batch does not fit or
 * `microBatch` (the profile's) asks for them; micro-batches are trained on one worker thread per
 * core (lib/train/parallel.ts; `threads` or ARTSTYLE_THREADS sets how many), which never changes
 * the result.
 */
export type RecipeOptions = Pick<
  TrainOptions,
  | 'model'
  | 'trainSource'
  | 'valSource'
  | 'outDir'
  | 'seed'
  | 'classWeights'
  | 'callbacks'
  | 'signal'
  | 'log'
  | 'trainStep'
  | 'microBatch'
  | 'threads'
> & {
  /** Epochs, batch size and optimizer; defaults to the seed's for the phase. */
  stage?: StageConfig | undefined;
};

export function xceptionPreprocess(x: tf.Tensor4D): tf.Tensor4D {
  return preprocessInput('xception', x);
}

/** One phase of the study: the loop with Xception's preprocessing and repeatable dropout. */
function trainPhase(
  { stage: _stage, ...o }: RecipeOptions,
  stage: StageConfig,
  identity: Record<string, unknown>,
  label: string,
): Promise<TrainResult> {
  return train({
    ...o,
    optimizer: stage.optimizer,
    epochs: stage.epochs,
    batchSize: stage.batchSize,
    preprocess: xceptionPreprocess,
    setDropoutStep,
    identity,
    label,
  });
}

/** Pretraining: only the head (avg_pool, fc1, dropout, predictions) trains. */
export function pretrain(o: RecipeOptions): Promise<TrainResult> {
  freezeBase(o.model);
  return trainPhase(o, o.stage ?? profiles.full.pretrain, { phase: 'pretrain' }, 'pretrain');
}

function pretrainedDir(dir: string): string {
  const direct = readCheckpoint(dir);
  return direct ? dir : path.join(dir, 'checkpoint');
}

/** Fine-tuning with the first `blocks` Xception blocks frozen, from a pretraining run's weights. */
export function finetune(
  o: RecipeOptions & { fromCheckpoint: string; blocks: number },
): Promise<TrainResult> {
  const { fromCheckpoint, blocks, ...rest } = o;
  const manifest = loadCheckpointWeights(o.model, pretrainedDir(fromCheckpoint), true);
  freezeBlocks(o.model, blocks);
  return trainPhase(
    rest,
    o.stage ?? profiles.full.finetune,
    { phase: 'finetune', frozenBlocks: blocks, pretrained: manifest.weightsSha256 },
    `block${blocks}`,
  );
}

/** What the block sweep of the study needs beyond the data: the grid and the pretrained run. */
export type BlockSweepOptions = Omit<RecipeOptions, 'model' | 'callbacks'> &
  Pick<
    SweepOptions,
    | 'blocks'
    | 'fromCheckpoint'
    | 'buildModel'
    | 'callbacks'
    | 'evalBatchSize'
    | 'members'
    | 'handleSigint'
  >;

/** The sweep's options with Xception's freezing and preprocessing and the fine-tuning schedule. */
function sweepOptions({ stage: s, ...o }: BlockSweepOptions): SweepOptions {
  const stage = s ?? profiles.full.finetune;
  return {
    ...o,
    freeze: freezeBlocks,
    optimizer: stage.optimizer,
    epochs: stage.epochs,
    batchSize: stage.batchSize,
    preprocess: xceptionPreprocess,
    setDropoutStep,
  };
}

/** The whole block sweep in this process: every member, then the choice. */
export function blockSweep(o: BlockSweepOptions): Promise<SweepResult> {
  return runSweep(sweepOptions(o));
}

/** One member of the block sweep (N frozen blocks), as its own unit (lib/train/sweep). */
export function blockSweepMember(o: BlockSweepOptions, blocks: number): Promise<SweepMemberResult> {
  return sweepMember(sweepOptions(o), blocks);
}

/** The choice over the members' folders, as its own unit (lib/train/sweep mergeSweep). */
export function mergeBlockSweep(o: BlockSweepOptions): SweepResult {
  const s = sweepOptions(o);
  return mergeSweep({
    blocks: s.blocks,
    outDir: s.outDir,
    epochs: s.epochs,
    valSource: s.valSource,
    log: s.log,
  });
}
