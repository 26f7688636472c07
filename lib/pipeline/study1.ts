import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type StudyConfig } from '../config/profiles';
import { imageBatchSource, type BatchSource } from '../data/batches';
import { loadManifest, type Manifest } from '../data/manifest';
import { splitCounts, SPLIT_NAMES } from '../data/split';
import { prepareImageDataset, type PreparedImageDataset } from '../data/prepareImageDataset';
import {
  classificationReport,
  compareClassAccuracy,
  type ClassComparisonRow,
  type ClassificationReport,
} from '../eval/classification';
import { buildClassifier, buildXception } from '../models';
import { loadCheckpointWeights } from '../train/checkpoint';
import { balancedClassWeights } from '../train/classWeights';
import { readHistory, type EpochRecord } from '../train/history';
import type { TrainOptions, TrainResult } from '../train/loop';
import { predict } from '../train/forward';
import { estimateStepHeap } from '../train/microbatch';
import {
  blockDirName,
  type MemberExecutor,
  type SweepCallbacks,
  type SweepMemberResult,
  type SweepResult,
} from '../train/sweep';
import {
  blockSweep,
  blockSweepMember,
  finetune,
  mergeBlockSweep,
  pretrain,
  xceptionPreprocess,
  type BlockSweepOptions,
} from './recipes';
import { ArtstyleError } from '../util/errors';
import { readJson, writeJsonAtomic } from '../util/fs';
import { Rng } from '../util/rng';
import { loadBase, type LoadedBase } from './bases';
import { requireStepOutput, stepDir, type RunParams } from './params';
import { chooseMemberThreads, memberThreads } from './sweep-members';

/**
 * The first study's steps, each one call that a notebook cell or a CLI command makes:
 * prepare (01) -> pretrain (02) -> sweep + evaluate (03) -> class weights (04). Each step writes
 * only under its own folder of the output folder and reads earlier steps' outputs from theirs.
 */

/** The study's settings for the run's profile, with overrides (validated before any work). */
export function studyConfig(params: RunParams, overrides: unknown = {}): StudyConfig {
  return resolveConfig(params.profile, withMicroBatchFromEnv(overrides));
}

export const MICRO_BATCH_ENV = 'ARTSTYLE_MICRO_BATCH';

/** `ARTSTYLE_MICRO_BATCH` (a number, or `auto`) as the `microBatch` override, unless one is given. */
function withMicroBatchFromEnv(overrides: unknown, env = process.env): unknown {
  const raw = env[MICRO_BATCH_ENV]?.trim();
  if (!raw || overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))
    return overrides;
  if ('microBatch' in overrides) return overrides;
  const value = raw === 'auto' ? null : /^\d+$/.test(raw) ? Number(raw) : raw;
  return { ...overrides, microBatch: value };
}

export interface PreparedSculptures extends PreparedImageDataset {
  cacheDir: string;
}

function cacheDirOf(params: RunParams): string {
  return path.join(stepDir(params, 'prepare'), 'cache');
}

function manifestFileOf(params: RunParams): string {
  return path.join(stepDir(params, 'prepare'), 'manifest.json');
}

/**
 * Keeps at most `max` images of each class (a seeded choice), so that the teaching profile can run
 * on a large real data set. Each split keeps its share of the `max` by the split's rounding rule
 * (splitCounts), so a capped class still has images in validation and test.
 */
export function limitPerClass(manifest: Manifest, max: number | null, seed: number): Manifest {
  if (max === null) return manifest;
  const rng = new Rng(seed).fork('limit-per-class');
  const keep = new Set<string>();
  for (const cls of manifest.classNames) {
    const items = manifest.items.filter((it) => it.class === cls);
    if (items.length <= max) {
      for (const it of items) keep.add(it.path);
      continue;
    }
    const quota = splitCounts(max, manifest.fractions);
    for (const split of SPLIT_NAMES) {
      const inSplit = items.filter((it) => it.split === split).map((it) => it.path);
      for (const p of rng.shuffle(inSplit).slice(0, Math.max(1, quota[split]))) keep.add(p);
    }
  }
  return { ...manifest, items: manifest.items.filter((it) => keep.has(it.path)) };
}

/** Step 01: scan, resize into the cache, split 60/20/20 per style, save the manifest. */
export async function prepareSculptures(
  params: RunParams,
  config: StudyConfig,
  options: { signal?: AbortSignal } = {},
): Promise<PreparedSculptures> {
  const cacheDir = cacheDirOf(params);
  const prepared = await prepareImageDataset({
    root: params.sculpturesDir,
    cacheDir,
    imageSize: config.imageSize,
    seed: params.seed,
    fractions: config.split,
    manifestFile: manifestFileOf(params),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { ...prepared, cacheDir };
}

/** The manifest written by step 01, limited to the profile's images per class. */
export function loadSculptureManifest(params: RunParams, config: StudyConfig): Manifest {
  const file = requireStepOutput(params, 'prepare', 'manifest.json');
  return limitPerClass(loadManifest(file), config.maxImagesPerClass, params.seed);
}

export interface SculptureSources {
  manifest: Manifest;
  train: BatchSource;
  val: BatchSource;
  test: BatchSource;
}

/** Batches of each split from the cache: the training set shuffled and augmented, the others not. */
export function sculptureSources(
  params: RunParams,
  config: StudyConfig,
  manifest = loadSculptureManifest(params, config),
): SculptureSources {
  const common = {
    manifest,
    cacheDir: cacheDirOf(params),
    imageSize: config.imageSize,
    seed: params.seed,
  };
  return {
    manifest,
    train: imageBatchSource({ ...common, split: 'train', shuffle: true, augment: config.augment }),
    val: imageBatchSource({ ...common, split: 'val', shuffle: false, augment: null }),
    test: imageBatchSource({ ...common, split: 'test', shuffle: false, augment: null }),
  };
}

/** The classifier of the study: Xception (profile width and size) + the new head. */
export function buildStudyModel(
  config: StudyConfig,
  numClasses: number,
  seed: number,
  base?: tf.LayersModel,
): tf.LayersModel {
  const b =
    base ??
    buildXception({
      inputSize: config.imageSize,
      widthMultiplier: config.model.widthMultiplier,
      seed,
    });
  return buildClassifier(b, {
    numClasses,
    denseUnits: config.model.denseUnits,
    l2: config.model.l2,
    dropout: config.model.dropout,
    seed,
  });
}

/** The pretrained starting point of the base: ImageNet, the bundled source-task base, or random. */
export function loadStudyBase(
  params: RunParams,
  config: StudyConfig,
  log?: ((line: string) => void) | null,
): Promise<LoadedBase> {
  return loadBase(
    {
      kind: 'xception',
      inputSize: config.imageSize,
      widthMultiplier: config.model.widthMultiplier,
      seed: params.seed,
    },
    { log: log === undefined ? null : log },
  );
}

/** How a step's training is watched and stopped, as `train()` takes them. */
export type StepControls = Pick<TrainOptions, 'callbacks' | 'signal' | 'log' | 'trainStep'>;

export type StepOptions = StepControls & {
  /** A sub-folder of the step's folder (used by the class-weights step). */
  subdir?: string | undefined;
  classWeights?: number[] | undefined;
  /** The base to start from; the step takes it over (and disposes it). Loaded when omitted. */
  base?: LoadedBase | undefined;
};

/** Step 02: the new head trained on the frozen base (RMSprop 1e-3, 25 epochs, batch 16 in the seed). */
export async function pretrainStep(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  options: StepOptions = {},
): Promise<TrainResult> {
  const base = options.base ?? (await loadStudyBase(params, config, options.log));
  const model = buildStudyModel(
    config,
    sources.manifest.classNames.length,
    params.seed,
    base.model,
  );
  const outDir = options.subdir
    ? path.join(stepDir(params, 'weighted'), options.subdir)
    : stepDir(params, 'pretrain');
  try {
    const { subdir: _s, base: _b, ...controls } = options;
    return await pretrain({
      ...controls,
      model,
      trainSource: sources.train,
      valSource: sources.val,
      outDir,
      seed: params.seed,
      stage: config.pretrain,
      microBatch: config.microBatch,
    });
  } finally {
    model.dispose();
  }
}

function assertCompleted(result: TrainResult | SweepResult, what: string): void {
  if (result.status !== 'completed') {
    throw new ArtstyleError(
      'interrupted',
      `${what} was interrupted: ${result.message ?? 'run it again to resume'}`,
      what,
    );
  }
}

export type SweepStepOptions = Pick<StepControls, 'signal' | 'log' | 'trainStep'> & {
  callbacks?: SweepCallbacks | undefined;
  /** Worker threads of each member's training step (lib/train/fit threads). */
  threads?: number | undefined;
  /** false: Ctrl-C and SIGTERM are the caller's to handle (the `signal` stops the sweep). */
  handleSigint?: boolean | undefined;
  /**
   * Who trains the members of a whole sweep: omitted, several at a time on member threads where
   * that pays (sweep-members.ts chooseMemberThreads), else this process one after another; null,
   * this process one after another.
   */
  members?: MemberExecutor | null | undefined;
};

/** The block sweep of the profile: pretrained weights from step 02, into the sweep folder. */
function blockSweepOptions(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  { members, ...options }: SweepStepOptions,
): BlockSweepOptions {
  const from = requireStepOutput(params, 'pretrain', 'checkpoint');
  const numClasses = sources.manifest.classNames.length;
  return {
    ...options,
    ...(members ? { members } : {}),
    blocks: config.sweep.blocks,
    fromCheckpoint: path.dirname(from),
    buildModel: () => buildStudyModel(config, numClasses, params.seed),
    trainSource: sources.train,
    valSource: sources.val,
    outDir: stepDir(params, 'sweep'),
    seed: params.seed,
    stage: config.finetune,
    evalBatchSize: config.evalBatchSize,
    microBatch: config.microBatch,
  };
}

/** Step 03: one fine-tuned model per frozen-block count, each from the pretrained weights. */
export function sweepStep(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  options: SweepStepOptions = {},
): Promise<SweepResult> {
  const { members: given, ...rest } = options;
  const members = given === undefined ? sweepMembers(params, config, sources, rest) : given;
  return blockSweep(blockSweepOptions(params, config, sources, { ...rest, members }));
}

/**
 * The member threads for a whole sweep where several members at a time pay (sweep-members.ts), or
 * null: a custom training step or fixed step threads keep the members in this process.
 */
function sweepMembers(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  options: Omit<SweepStepOptions, 'members'>,
): MemberExecutor | null {
  if (options.trainStep || options.threads !== undefined) return null;
  const choice = chooseMemberThreads({
    members: config.sweep.blocks.length,
    heap: () => {
      const model = buildStudyModel(config, sources.manifest.classNames.length, params.seed);
      try {
        return estimateStepHeap(model);
      } finally {
        model.dispose();
      }
    },
    microBatch: config.microBatch ?? config.finetune.batchSize,
  });
  if (choice.members <= 1) return null;
  const log = options.log === undefined ? (l: string) => console.log(l) : options.log;
  return memberThreads(params, config, choice, log, options.callbacks);
}

/**
 * One unit of step 03: the member with `blocks` frozen blocks, trained into `sweep/block<N>`
 * (its own lock and checkpoint). Refuses with a named error while pretraining is missing or
 * unfinished; `blocks` must be one of the profile's sweep counts.
 */
export function sweepMemberStep(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  blocks: number,
  options: SweepStepOptions = {},
): Promise<SweepMemberResult> {
  if (!config.sweep.blocks.includes(blocks))
    throw new ArtstyleError(
      'invalid-argument',
      `member: ${blocks} is not one of the ${params.profile} profile's frozen-block counts (${config.sweep.blocks.join(', ')})`,
      'member',
    );
  return blockSweepMember(blockSweepOptions(params, config, sources, options), blocks);
}

/**
 * The merge unit of step 03: the choice over the members' folders (`sweep/sweep-summary.json`),
 * for a sweep whose members ran as separate processes. Refuses with a named error
 * (`sweep-member-missing`, `sweep-member-unfinished`) while any member is not done.
 */
export function mergeSweepStep(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  options: Pick<SweepStepOptions, 'log'> = {},
): SweepResult {
  return mergeBlockSweep(blockSweepOptions(params, config, sources, options));
}

/** Loads a finished run's weights (a `train` output folder) into a fresh model of the study. */
export function loadTrainedModel(
  config: StudyConfig,
  numClasses: number,
  seed: number,
  runDir: string,
): tf.LayersModel {
  const model = buildStudyModel(config, numClasses, seed);
  loadCheckpointWeights(model, path.join(runDir, 'checkpoint'), true);
  return model;
}

export interface TestEvaluation {
  runDir: string;
  report: ClassificationReport;
  classNames: string[];
  ids: string[];
}

/** Evaluates a finished run on the test split and saves the report beside it. */
export async function evaluateOnTest(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  runDir: string,
): Promise<TestEvaluation> {
  const model = loadTrainedModel(config, sources.manifest.classNames.length, params.seed, runDir);
  try {
    const predictions = await predict(model, sources.test, {
      batchSize: config.evalBatchSize,
      preprocess: xceptionPreprocess,
    });
    const report = classificationReport(predictions);
    const evaluation: TestEvaluation = {
      runDir,
      report,
      classNames: sources.manifest.classNames,
      ids: predictions.ids,
    };
    writeJsonAtomic(path.join(runDir, 'test-report.json'), evaluation);
    return evaluation;
  } finally {
    model.dispose();
  }
}

/** The sweep's chosen N (its `sweep-summary.json`), or the profile's `chosenBlocks` with a note. */
export function chosenBlocks(
  params: RunParams,
  config: StudyConfig,
): { blocks: number; source: string } {
  const summary = path.join(stepDir(params, 'sweep'), 'sweep-summary.json');
  if (fs.existsSync(summary)) {
    const n = readJson<{ best?: unknown }>(summary).best;
    if (typeof n === 'number')
      return { blocks: n, source: `the block sweep's choice (${summary})` };
  }
  return {
    blocks: config.chosenBlocks,
    source: `the profile's chosenBlocks (no sweep summary at ${summary}; run notebook 03-block-sweep to choose by validation)`,
  };
}

/** The histories of the sweep's models, by frozen-block count, for the overlay figures. */
export function sweepHistories(
  params: RunParams,
  config: StudyConfig,
): { blocks: number; label: string; history: EpochRecord[] }[] {
  return config.sweep.blocks
    .map((n) => ({ n, dir: path.join(stepDir(params, 'sweep'), blockDirName(n)) }))
    .filter(({ dir }) => fs.existsSync(path.join(dir, 'history.json')))
    .map(({ n, dir }) => ({ blocks: n, label: blockDirName(n), history: readHistory(dir) }));
}

export interface WeightedComparison {
  classWeights: number[];
  blocks: number;
  unweighted: TestEvaluation;
  weighted: TestEvaluation;
  rows: ClassComparisonRow[];
}

/** Balanced class weights of the training split (scikit-learn's compute_class_weight('balanced')). */
export function trainingClassWeights(sources: SculptureSources): number[] {
  return balancedClassWeights(sources.train.labels(), sources.manifest.classNames.length);
}

/**
 * Step 04: pretraining and fine-tuning again with balanced class weights and the chosen N, then
 * both models (unweighted from step 03, weighted from here) on the same test images.
 */
export async function classWeightsStep(
  params: RunParams,
  config: StudyConfig,
  sources: SculptureSources,
  options: Omit<StepOptions, 'subdir' | 'classWeights'> = {},
): Promise<WeightedComparison> {
  const { blocks } = chosenBlocks(params, config);
  const unweightedDir = path.join(stepDir(params, 'sweep'), blockDirName(blocks));
  requireStepOutput(params, 'sweep', path.join(blockDirName(blocks), 'checkpoint'));
  const classWeights = trainingClassWeights(sources);
  const pre = await pretrainStep(params, config, sources, {
    ...options,
    subdir: 'pretrain',
    classWeights,
  });
  assertCompleted(pre, 'weighted pretraining');
  const { base: _b, ...controls } = options;
  const weightedDir = path.join(stepDir(params, 'weighted'), blockDirName(blocks));
  const model = buildStudyModel(config, sources.manifest.classNames.length, params.seed);
  try {
    const ft = await finetune({
      ...controls,
      model,
      fromCheckpoint: pre.outDir,
      blocks,
      trainSource: sources.train,
      valSource: sources.val,
      outDir: weightedDir,
      seed: params.seed,
      stage: config.finetune,
      microBatch: config.microBatch,
      classWeights,
    });
    assertCompleted(ft, 'weighted fine-tuning');
  } finally {
    model.dispose();
  }
  const unweighted = await evaluateOnTest(params, config, sources, unweightedDir);
  const weighted = await evaluateOnTest(params, config, sources, weightedDir);
  const rows = compareClassAccuracy(unweighted.report.perClass, weighted.report.perClass);
  const comparison: WeightedComparison = { classWeights, blocks, unweighted, weighted, rows };
  writeJsonAtomic(path.join(stepDir(params, 'weighted'), 'comparison.json'), {
    classWeights,
    blocks,
    rows,
    unweighted: summary(unweighted),
    weighted: summary(weighted),
  });
  return comparison;
}

function summary(e: TestEvaluation): Record<string, number> {
  return {
    accuracy: e.report.accuracy,
    balancedAccuracy: e.report.balancedAccuracy,
    macroF1: e.report.macroF1,
  };
}

export { assertCompleted };
