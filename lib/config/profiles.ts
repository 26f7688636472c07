import { ArtstyleError } from '../util/errors';
import { PROFILE_NAMES, type ProfileName } from './names';
import { checkValue, throwProblems, type ConfigProblem, type Schema } from './schema';

/**
 * The settings of the first study (notebooks 02-04), by profile. `full` is the seed's study;
 * `teaching` is sized for a 2-core laptop CPU (the whole main job within 15 minutes on the wasm
 * backend); `smoke` is for tests.
 *
 * The teaching profile keeps the recipe and compresses the schedule: 96 px, Xception at width 0.25
 * (the bundled base), the seed's whole sweep (N = 0..14 frozen blocks), 15 pretraining and 4
 * fine-tuning epochs. Fine-tuning then makes about 120 steps where the seed made about 7,500, so
 * its learning rate is 3e-3 instead of the seed's 1e-4: at 1e-4 the fine-tuned models did not move
 * from the pretrained one (validation accuracy 16-17% on the bundled data, measured). Four epochs,
 * not more: trained for 6, the 15 members' validation accuracy was highest at the 4th epoch (or
 * tied there) for 10 of them and lower at the 6th than at the 4th for 14.
 */
export interface OptimizerConfig {
  kind: 'rmsprop' | 'sgd';
  lr: number;
  momentum: number;
}

export interface StageConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
}

export interface StudyConfig {
  /** Square input size in pixels (the seed resized to 299x299; Xception needs at least 71). */
  imageSize: number;
  /** Fractions of each style for train/validation/test (the seed: 60/20/20), summing to 1. */
  split: { train: number; val: number; test: number };
  /** Keras ImageDataGenerator-style augmentation of the training set only. */
  augment: { shearRange: number; zoomRange: number; horizontalFlip: boolean };
  /** Images used per style (null = all); the teaching profile's main speed knob. */
  maxImagesPerClass: number | null;
  model: {
    /** Xception's channel widths are multiplied by this (1 = the real Xception). */
    widthMultiplier: number;
    denseUnits: number;
    l2: number;
    dropout: number;
  };
  /** Base frozen, new head: RMSprop 1e-3, 25 epochs, batch 16 in the seed. */
  pretrain: StageConfig;
  /** First N blocks frozen: SGD 1e-4, momentum 0.9, 50 epochs, batch 16 in the seed. */
  finetune: StageConfig;
  sweep: {
    /** Frozen-block counts to try, each 0..14. */
    blocks: number[];
  };
  /** The N used by notebook 04 when no sweep result is at hand (the seed chose 3). */
  chosenBlocks: number;
  /** Batch size for prediction and evaluation (no effect on results). */
  evalBatchSize: number;
  /**
   * Images per training micro-batch (gradients accumulated, one update per batch, see
   * lib/train/microbatch.ts); null = chosen from what fits: the whole batch wherever it fits,
   * which is everywhere except full size on the wasm backend. `ARTSTYLE_MICRO_BATCH` or the CLI's
   * `--micro-batch` sets it. The micro-batches of a batch train on one worker thread per core
   * (`ARTSTYLE_THREADS` / `--threads`), which never changes a result.
   */
  microBatch: number | null;
}

export const XCEPTION_BLOCKS = 14;

const optimizerSchema: Schema = {
  kind: 'object',
  fields: {
    kind: { kind: 'enum', values: ['rmsprop', 'sgd'] },
    lr: { kind: 'number', exclusiveMin: 0, max: 10 },
    momentum: { kind: 'number', min: 0, exclusiveMax: 1 },
  },
};
const stageSchema: Schema = {
  kind: 'object',
  fields: {
    epochs: { kind: 'number', integer: true, min: 1 },
    batchSize: { kind: 'number', integer: true, min: 1 },
    optimizer: optimizerSchema,
  },
};
const fraction: Schema = { kind: 'number', min: 0, max: 1 };
const blockCount: Schema = { kind: 'number', integer: true, min: 0, max: XCEPTION_BLOCKS };

export const STUDY_SCHEMA: Schema = {
  kind: 'object',
  fields: {
    imageSize: { kind: 'number', integer: true, min: 71, max: 1024 },
    split: { kind: 'object', fields: { train: fraction, val: fraction, test: fraction } },
    augment: {
      kind: 'object',
      fields: {
        shearRange: { kind: 'number', min: 0, max: 1 },
        zoomRange: { kind: 'number', min: 0, exclusiveMax: 1 },
        horizontalFlip: { kind: 'boolean' },
      },
    },
    maxImagesPerClass: { kind: 'number', integer: true, min: 1, nullable: true },
    model: {
      kind: 'object',
      fields: {
        widthMultiplier: { kind: 'number', exclusiveMin: 0, max: 1 },
        denseUnits: { kind: 'number', integer: true, min: 1 },
        l2: { kind: 'number', min: 0 },
        dropout: { kind: 'number', min: 0, exclusiveMax: 1 },
      },
    },
    pretrain: stageSchema,
    finetune: stageSchema,
    sweep: {
      kind: 'object',
      fields: { blocks: { kind: 'array', items: blockCount, minLength: 1, unique: true } },
    },
    chosenBlocks: blockCount,
    evalBatchSize: { kind: 'number', integer: true, min: 1 },
    microBatch: { kind: 'number', integer: true, min: 1, nullable: true },
  },
};

const SEED_SPLIT = { train: 0.6, val: 0.2, test: 0.2 };
const SEED_AUGMENT = { shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true };
const SEED_PRETRAIN_OPT: OptimizerConfig = { kind: 'rmsprop', lr: 1e-3, momentum: 0 };
const SEED_FINETUNE_OPT: OptimizerConfig = { kind: 'sgd', lr: 1e-4, momentum: 0.9 };

export const profiles: Record<ProfileName, StudyConfig> = {
  full: {
    imageSize: 299,
    split: SEED_SPLIT,
    augment: SEED_AUGMENT,
    maxImagesPerClass: null,
    model: { widthMultiplier: 1, denseUnits: 256, l2: 0.0075, dropout: 0.5 },
    pretrain: { epochs: 25, batchSize: 16, optimizer: SEED_PRETRAIN_OPT },
    finetune: { epochs: 50, batchSize: 16, optimizer: SEED_FINETUNE_OPT },
    sweep: { blocks: Array.from({ length: XCEPTION_BLOCKS + 1 }, (_, i) => i) },
    chosenBlocks: 3,
    evalBatchSize: 32,
    microBatch: null,
  },
  // Measured on a quiet 2-core machine, wasm backend, 96 px, width 0.25, all 798 images (479 train,
  // 159 validation), 6 epochs per member: member N = 0 trained in 56 s, N = 8 in 37 s, N = 14 in
  // 16 s, the 15 members in 585 s one after another on both cores.
  teaching: {
    imageSize: 96,
    split: SEED_SPLIT,
    augment: SEED_AUGMENT,
    maxImagesPerClass: null,
    model: { widthMultiplier: 0.25, denseUnits: 256, l2: 0.0075, dropout: 0.5 },
    pretrain: { epochs: 15, batchSize: 16, optimizer: SEED_PRETRAIN_OPT },
    finetune: { epochs: 4, batchSize: 16, optimizer: { ...SEED_FINETUNE_OPT, lr: 3e-3 } },
    sweep: { blocks: Array.from({ length: XCEPTION_BLOCKS + 1 }, (_, i) => i) },
    chosenBlocks: 3,
    evalBatchSize: 32,
    // Two micro-batches of 8, so that a 2-core machine trains each batch on both cores
    // (lib/train/parallel.ts); the results are the same on any number of cores. Fine-tuned batch
    // norm then normalises over 8 images (ghost batch norm, see lib/train/microbatch.ts).
    microBatch: 8,
  },
  smoke: {
    imageSize: 72,
    split: SEED_SPLIT,
    augment: SEED_AUGMENT,
    maxImagesPerClass: 5,
    model: { widthMultiplier: 0.25, denseUnits: 8, l2: 0.0075, dropout: 0.5 },
    pretrain: { epochs: 1, batchSize: 8, optimizer: SEED_PRETRAIN_OPT },
    finetune: { epochs: 1, batchSize: 8, optimizer: SEED_FINETUNE_OPT },
    sweep: { blocks: [0, 14] },
    chosenBlocks: 3,
    evalBatchSize: 16,
    microBatch: null,
  },
};

/**
 * Validates a study configuration before any work starts: unknown keys (with the closest known
 * one), wrong types and impossible values are one ArtstyleError naming every key at fault.
 */
export function validateConfig(obj: unknown): StudyConfig {
  const problems: ConfigProblem[] = [];
  checkValue(obj, STUDY_SCHEMA, '', problems);
  const split = (obj as { split?: Record<string, unknown> } | null)?.split;
  if (
    split &&
    typeof split.train === 'number' &&
    typeof split.val === 'number' &&
    typeof split.test === 'number'
  ) {
    const sum = split.train + split.val + split.test;
    if (Math.abs(sum - 1) > 1e-9)
      problems.push({
        key: 'split',
        message: `split: train + val + test must sum to 1, got ${split.train} + ${split.val} + ${split.test} = ${+sum.toFixed(12)}`,
      });
    for (const k of ['train', 'val'] as const)
      if (split[k] === 0)
        problems.push({
          key: `split.${k}`,
          message: `split.${k}: must be > 0 (training needs it)`,
        });
  }
  throwProblems(problems, 'configuration');
  return obj as StudyConfig;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function merge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over))
    out[k] = k in out ? merge(out[k], v) : structuredClone(v);
  return out;
}

/** The named profile with `overrides` merged in (objects deeply, lists replaced), validated. */
export function resolveConfig(profileName: string, overrides: unknown = {}): StudyConfig {
  if (!(PROFILE_NAMES as readonly string[]).includes(profileName))
    throw new ArtstyleError(
      'invalid-config',
      `profile: ${JSON.stringify(profileName)} is not a profile; choose one of ${PROFILE_NAMES.join(', ')}`,
      'profile',
    );
  if (!isPlainObject(overrides))
    throw new ArtstyleError(
      'invalid-config',
      `overrides: expected an object of settings, got ${JSON.stringify(overrides)}`,
      'overrides',
    );
  return validateConfig(merge(profiles[profileName as ProfileName], overrides));
}
