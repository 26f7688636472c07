/**
 * The training part of study 2 (notebook 05): the four genre networks on one split, and the
 * metrics compared over seeds. Kept apart from study2.ts, which also knows the feature extraction
 * (TensorFlow.js), so that the worker threads of `repeatOverSeeds` (study2-worker.ts) load only
 * the networks. study2.ts re-exports everything here.
 */
import { Matrix } from 'ml-matrix';
import type { MetadataStudyConfig } from '../config/study2';
import { anyMatchAccuracy, multilabelReport, type MultilabelReport } from '../eval/multilabel';
import { AdamNeuralNetwork } from '../mlp/adam';
import { BoostedNeuralNetwork } from '../mlp/bnn';
import { GradientBoostedNetwork } from '../mlp/gbnn';
import { toMatrix } from '../mlp/matrix';
import { binaryCrossEntropy, SimpleNeuralNetwork } from '../mlp/snn';
import { splitByArtist, splitByPainting, type Split } from '../mlp/split';

export interface GenreData {
  /** rows x k features (the PCA scores) */
  X: number[][];
  /** rows x genres, 0/1 */
  Y: number[][];
  genres: string[];
  artists: string[];
  ids: string[];
}

export type SplitKind = 'painting' | 'artist';

export function makeSplit(
  data: GenreData,
  kind: SplitKind,
  config: MetadataStudyConfig,
  seed: number,
): Split {
  const options = { testFraction: config.testFraction, seed };
  return kind === 'painting'
    ? splitByPainting(data.X.length, options)
    : splitByArtist(data.artists, options);
}

export const MODEL_NAMES = ['SNN', 'BNN', 'Adam', 'GBNN'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** The gradient-boosted ensemble after stage m (m = 0: the prior logits alone). */
export interface BoostingStage {
  member: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

export interface ModelResult {
  model: ModelName;
  /**
   * Training loss per epoch (the BNN: its members' epochs one after another; the GBNN: its
   * members' squared losses on their pseudo-residuals, one after another).
   */
  losses: number[];
  report: MultilabelReport;
  seconds: number;
  /** The GBNN only: loss and top-genre accuracy after each member. */
  stages?: BoostingStage[];
}

export interface GenreModelsResult {
  split: SplitKind;
  trainRows: number;
  testRows: number;
  models: ModelResult[];
}

function rows<T>(all: T[], idx: number[]): T[] {
  return idx.map((i) => all[i] as T);
}

export interface TrainGenreOptions {
  /**
   * false: skip what only the single runs show (each epoch's loss pass over the training rows,
   * the GBNN's loss and accuracy after each member), for the repetition over seeds, which keeps
   * only the test metrics. The trained networks and their test metrics are the same either way:
   * those passes read the weights and change nothing. `losses` is then empty and `stages` absent.
   */
  histories?: boolean;
}

/** Step 05c: the four networks trained on one split and evaluated on its test part. */
export function trainGenreModels(
  data: GenreData,
  split: Split,
  kind: SplitKind,
  config: MetadataStudyConfig,
  seed: number,
  log: ((l: string) => void) | null = console.log,
  options: TrainGenreOptions = {},
): GenreModelsResult {
  const histories = options.histories ?? true;
  const lossOn = histories ? ('full' as const) : ('none' as const);
  const Xtr = new Matrix(rows(data.X, split.train));
  const Ytr = new Matrix(rows(data.Y, split.train));
  const Xte = new Matrix(rows(data.X, split.test));
  const Yte = rows(data.Y, split.test);
  const snnOptions = {
    hiddenSizes: config.snn.hiddenSizes,
    learningRate: config.snn.learningRate,
    seed,
  };
  const fitOptions = { epochs: config.snn.epochs, batchSize: config.snn.batchSize, lossOn };
  const run = (
    model: ModelResult['model'],
    fit: () => number[],
    predict: () => Matrix,
  ): ModelResult => {
    const t0 = Date.now();
    const losses = fit();
    const report = multilabelReport(Yte, predict(), { labels: data.genres });
    const seconds = (Date.now() - t0) / 1000;
    log?.(
      `${model} (split by ${kind}): top-genre accuracy ${(100 * report.anyMatchAccuracy).toFixed(2)}%, micro-F1 ${report.micro.f1.toFixed(3)}, ${seconds.toFixed(1)} s`,
    );
    return { model, losses, report, seconds };
  };
  const snn = new SimpleNeuralNetwork(snnOptions);
  const bnn = new BoostedNeuralNetwork({
    ...snnOptions,
    nModels: config.bnn.nModels,
    gradientClipValue: config.bnn.gradientClipValue,
    residualThreshold: config.bnn.residualThreshold,
  });
  const adam = new AdamNeuralNetwork({ ...snnOptions, learningRate: config.adam.learningRate });
  const gbnn = new GradientBoostedNetwork({
    hiddenSizes: config.gbnn.hiddenSizes,
    learningRate: config.gbnn.learningRate,
    nModels: config.gbnn.nModels,
    shrinkage: config.gbnn.shrinkage,
    seed,
  });
  const seedModels = [
    run(
      'SNN',
      () => snn.fit(Xtr, Ytr, fitOptions),
      () => snn.predict(Xte),
    ),
    run(
      'BNN',
      () =>
        bnn.fit(Xtr, Ytr, { epochs: config.bnn.epochs, batchSize: config.snn.batchSize, lossOn }),
      // The ensemble's prediction is the sum of its members (not clipped: clipping to [0, 1] would
      // tie every genre whose sum passes 1 and make the top genre arbitrary).
      () => bnn.predictRaw(Xte),
    ),
    run(
      'Adam',
      () =>
        adam.fit(Xtr, Ytr, { epochs: config.adam.epochs, batchSize: config.snn.batchSize, lossOn }),
      () => adam.predict(Xte),
    ),
  ];
  const boosted = run(
    'GBNN',
    () => {
      gbnn.fit(Xtr, Ytr, {
        epochs: config.gbnn.epochs,
        batchSize: config.snn.batchSize,
        lossOn,
      });
      return gbnn.histories.flat();
    },
    () => gbnn.predict(Xte),
  );
  if (histories) boosted.stages = boostingStages(gbnn, Xtr, Ytr, Xte, new Matrix(Yte));
  return {
    split: kind,
    trainRows: split.train.length,
    testRows: split.test.length,
    models: [...seedModels, boosted],
  };
}

function boostingStages(
  gbnn: GradientBoostedNetwork,
  Xtr: Matrix,
  Ytr: Matrix,
  Xte: Matrix,
  Yte: Matrix,
): BoostingStage[] {
  const side = (X: Matrix, Y: Matrix): { loss: number; accuracy: number }[] => {
    const y = { rows: Y.rows, cols: Y.columns, data: Float64Array.from(Y.to1DArray()) };
    return gbnn.stageLogits(X).map((F) => ({
      loss: binaryCrossEntropy(GradientBoostedNetwork.probabilities(F), y),
      accuracy: anyMatchAccuracy(Y, toMatrix(F)),
    }));
  };
  const train = side(Xtr, Ytr);
  const test = side(Xte, Yte);
  return train.map((t, m) => ({
    member: m,
    trainLoss: t.loss,
    trainAccuracy: t.accuracy,
    testLoss: (test[m] as { loss: number }).loss,
    testAccuracy: (test[m] as { accuracy: number }).accuracy,
  }));
}

/** The metrics compared over seeds (shares; the Hamming loss: lower is better). */
export const SEED_METRICS = [
  'top-genre accuracy',
  'subset accuracy',
  'Hamming loss',
  'micro P',
  'micro R',
  'micro F1',
  'macro F1',
] as const;
export type SeedMetric = (typeof SEED_METRICS)[number];

export function seedMetrics(report: MultilabelReport): Record<SeedMetric, number> {
  return {
    'top-genre accuracy': report.anyMatchAccuracy,
    'subset accuracy': report.subsetAccuracy,
    'Hamming loss': report.hammingLoss,
    'micro P': report.micro.precision,
    'micro R': report.micro.recall,
    'micro F1': report.micro.f1,
    'macro F1': report.macro.f1,
  };
}

export interface SeedRun {
  split: SplitKind;
  seed: number;
  trainRows: number;
  testRows: number;
  seconds: number;
  metrics: Record<ModelName, Record<SeedMetric, number>>;
}

export interface SeedStudy {
  seeds: number[];
  runs: SeedRun[];
}

/**
 * One (split, seed) of the repetition over seeds: the four networks trained on that seed's split
 * (or `given`, the single run already computed for it), reduced to their test metrics.
 */
export function seedRun(
  data: GenreData,
  config: MetadataStudyConfig,
  split: SplitKind,
  seed: number,
  given?: GenreModelsResult,
): SeedRun {
  const t0 = Date.now();
  const result =
    given ??
    trainGenreModels(data, makeSplit(data, split, config, seed), split, config, seed, null, {
      histories: false,
    });
  const metrics = Object.fromEntries(
    result.models.map((m) => [m.model, seedMetrics(m.report)]),
  ) as SeedRun['metrics'];
  return {
    split,
    seed,
    trainRows: result.trainRows,
    testRows: result.testRows,
    seconds: given ? given.models.reduce((s, m) => s + m.seconds, 0) : (Date.now() - t0) / 1000,
    metrics,
  };
}
