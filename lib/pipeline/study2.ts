import * as fs from 'node:fs';
import * as path from 'node:path';
import { Matrix } from 'ml-matrix';
import { metadataProfiles, type MetadataStudyConfig } from '../config/study2';
import { loadPaintingsDataset, type PaintingsDataset } from '../data/paintingsDataset';
import { paintingImagePath, type PaintingImage } from '../data/paintingImages';
import { anyMatchAccuracy, multilabelReport, type MultilabelReport } from '../eval/multilabel';
import { extractFeatures } from '../features/extract';
import { PCA } from '../features/pca';
import { FeatureStore } from '../features/store';
import { pairedTTest, wilcoxonSignedRank, type PairedTest } from '../eval/paired';
import { AdamNeuralNetwork } from '../mlp/adam';
import { BoostedNeuralNetwork } from '../mlp/bnn';
import { GradientBoostedNetwork } from '../mlp/gbnn';
import { toMatrix } from '../mlp/matrix';
import { binaryCrossEntropy, SimpleNeuralNetwork } from '../mlp/snn';
import { splitByArtist, splitByPainting, type Split } from '../mlp/split';
import { preprocessInput } from '../models';
import { ArtstyleError } from '../util/errors';
import { readJson, sha256, writeJsonAtomic } from '../util/fs';
import { loadBase, type BaseWeightsSource } from './bases';
import { stepDir, type RunParams } from './params';

/**
 * The second study's steps (notebook 05 and `artstyle features`): paintings + artists.csv ->
 * ResNet50 features (a resumable on-disk store) -> PCA -> multi-hot genres -> three from-scratch
 * networks, evaluated as the seed does (top genre among the artist's genres) and as a reviewer
 * would (per-genre precision, recall and F1), with two ways to split.
 */

export function metadataConfig(params: RunParams): MetadataStudyConfig {
  return structuredClone(metadataProfiles[params.profile]);
}

export interface PaintingsOverview {
  dataset: PaintingsDataset;
  genres: { genre: string; artists: number; images: number }[];
  artists: { artist: string; genres: number; images: number }[];
  summary: string;
}

/** Reads and checks artists.csv and the image names (nothing is decoded). */
export function paintingsOverview(params: RunParams): PaintingsOverview {
  const dataset = loadPaintingsDataset(params.paintingsDir);
  const m = dataset.match;
  const lines = [
    `${dataset.artists.length} artists, ${m.images.length} images matched to them, ${dataset.genres.classes.length} genres`,
    `images of artists not in artists.csv: ${m.unknownArtistFiles.length ? m.unknownArtistFiles.join(', ') : 'none'}`,
    `artists without images: ${m.artistsWithoutImages.length ? m.artistsWithoutImages.join(', ') : 'none'}`,
  ];
  if (m.unrecognisedFiles.length)
    lines.push(`files not named <Artist_Name>_<n>.jpg: ${m.unrecognisedFiles.join(', ')}`);
  return {
    dataset,
    genres: dataset.genreRows,
    artists: dataset.artistRows,
    summary: lines.join('\n'),
  };
}

/** The images the profile uses: at most `maxImagesPerArtist` of each artist (the lowest numbers). */
export function selectPaintings(
  images: readonly PaintingImage[],
  max: number | null,
): PaintingImage[] {
  if (max === null) return [...images];
  const seen = new Map<string, number>();
  return images.filter((im) => {
    const n = (seen.get(im.artist) ?? 0) + 1;
    seen.set(im.artist, n);
    return n <= max;
  });
}

export interface ExtractedFeatures {
  store: FeatureStore;
  images: PaintingImage[];
  baseSource: BaseWeightsSource;
  baseDetail: string;
  added: number;
}

/** Step 05a: ResNet50 features of every used painting, appended to a resumable feature store. */
export async function extractPaintingFeatures(
  params: RunParams,
  config: MetadataStudyConfig,
  overview = paintingsOverview(params),
  log: ((l: string) => void) | null = console.log,
): Promise<ExtractedFeatures> {
  const images = selectPaintings(overview.dataset.match.images, config.maxImagesPerArtist);
  const base = await loadBase(
    {
      kind: 'resnet50',
      inputSize: config.imageSize,
      widthMultiplier: config.widthMultiplier,
      seed: params.seed,
    },
    { log },
  );
  try {
    const imagesDir = path.join(params.paintingsDir, 'resized');
    const result = await extractFeatures({
      model: base.model,
      preprocess: (x) => preprocessInput('resnet50', x),
      items: images.map((im) => ({ id: im.path, path: paintingImagePath(imagesDir, im) })),
      store: path.join(stepDir(params, 'features'), 'store'),
      imageSize: config.imageSize,
      pooling: config.pooling,
      batchSize: config.featureBatchSize,
    });
    return {
      store: result.store,
      images,
      baseSource: base.source,
      baseDetail: base.detail,
      added: result.added,
    };
  } finally {
    base.model.dispose();
  }
}

export interface ReducedFeatures {
  ids: string[];
  /** rows x nComponents, row-major. */
  scores: Float64Array;
  nComponents: number;
  explainedVarianceRatio: number[];
  solver: string;
  inputDims: number;
}

/** Step 05b: PCA of the store to `nComponents` (seeded), cached in features/pca.json. */
export async function reduceFeatures(
  params: RunParams,
  config: MetadataStudyConfig,
  store: FeatureStore,
): Promise<ReducedFeatures> {
  const file = path.join(stepDir(params, 'features'), 'pca.json');
  const key = sha256(
    JSON.stringify({
      ids: store.ids,
      dims: store.dims,
      n: config.nComponents,
      seed: config.pcaSeed,
    }),
  );
  if (fs.existsSync(file)) {
    const cached = readJson<ReducedFeatures & { key: string; scores: number[] }>(file);
    if (cached.key === key) return { ...cached, scores: Float64Array.from(cached.scores) };
  }
  const nComponents = Math.min(config.nComponents, store.rows - 1, store.dims);
  if (nComponents < 2)
    throw new ArtstyleError(
      'too-few-images',
      `PCA needs at least 3 images, the feature store has ${store.rows}`,
      store.dir,
    );
  const pca = new PCA({ nComponents, randomState: config.pcaSeed });
  const scores = await pca.fitTransform(store);
  const reduced: ReducedFeatures = {
    ids: store.ids,
    scores,
    nComponents,
    explainedVarianceRatio: pca.explainedVarianceRatio,
    solver: pca.solverUsed ?? 'unknown',
    inputDims: store.dims,
  };
  writeJsonAtomic(file, { ...reduced, key, scores: Array.from(scores) });
  return reduced;
}

export interface GenreData {
  /** rows x k features (the PCA scores) */
  X: number[][];
  /** rows x genres, 0/1 */
  Y: number[][];
  genres: string[];
  artists: string[];
  ids: string[];
}

/** Aligns the reduced features with each painting's multi-hot genres (its artist's). */
export function genreData(overview: PaintingsOverview, reduced: ReducedFeatures): GenreData {
  const { dataset } = overview;
  const rowOf = new Map(dataset.match.images.map((im, i) => [im.path, i]));
  const k = dataset.genres.classes.length;
  const X: number[][] = [];
  const Y: number[][] = [];
  const artists: string[] = [];
  reduced.ids.forEach((id, r) => {
    const row = rowOf.get(id);
    if (row === undefined)
      throw new ArtstyleError(
        'stale-features',
        `feature row ${id} is not an image of ${dataset.root}; delete the features folder and extract again`,
        id,
      );
    X.push(
      Array.from(reduced.scores.subarray(r * reduced.nComponents, (r + 1) * reduced.nComponents)),
    );
    Y.push(Array.from(dataset.genres.data.subarray(row * k, (row + 1) * k)));
    artists.push((dataset.match.images[row] as PaintingImage).artist);
  });
  return { X, Y, genres: dataset.genres.classes, artists, ids: reduced.ids };
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

/** Step 05c: the three networks trained on one split and evaluated on its test part. */
export function trainGenreModels(
  data: GenreData,
  split: Split,
  kind: SplitKind,
  config: MetadataStudyConfig,
  seed: number,
  log: ((l: string) => void) | null = console.log,
): GenreModelsResult {
  const Xtr = new Matrix(rows(data.X, split.train));
  const Ytr = new Matrix(rows(data.Y, split.train));
  const Xte = new Matrix(rows(data.X, split.test));
  const Yte = rows(data.Y, split.test);
  const snnOptions = {
    hiddenSizes: config.snn.hiddenSizes,
    learningRate: config.snn.learningRate,
    seed,
  };
  const fitOptions = { epochs: config.snn.epochs, batchSize: config.snn.batchSize };
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
      () => bnn.fit(Xtr, Ytr, { epochs: config.bnn.epochs, batchSize: config.snn.batchSize }),
      // The ensemble's prediction is the sum of its members (not clipped: clipping to [0, 1] would
      // tie every genre whose sum passes 1 and make the top genre arbitrary).
      () => bnn.predictRaw(Xte),
    ),
    run(
      'Adam',
      () => adam.fit(Xtr, Ytr, { epochs: config.adam.epochs, batchSize: config.snn.batchSize }),
      () => adam.predict(Xte),
    ),
  ];
  const boosted = run(
    'GBNN',
    () => {
      gbnn.fit(Xtr, Ytr, { epochs: config.gbnn.epochs, batchSize: config.snn.batchSize });
      return gbnn.histories.flat();
    },
    () => gbnn.predict(Xte),
  );
  boosted.stages = boostingStages(gbnn, Xtr, Ytr, Xte, new Matrix(Yte));
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

/** The comparison rows of the seed's final figure: accuracy and micro-averaged P/R/F1. */
export function comparisonRows(
  result: GenreModelsResult,
): { model: string; accuracy: number; precision: number; recall: number; f1: number }[] {
  return result.models.map((m) => ({
    model: m.model,
    accuracy: m.report.anyMatchAccuracy,
    precision: m.report.micro.precision,
    recall: m.report.micro.recall,
    f1: m.report.micro.f1,
  }));
}

/** The 2-D projection of the first two components, labelled by each painting's first genre. */
export function projectionPoints(data: GenreData): {
  points: [number, number][];
  labels: string[];
} {
  return {
    points: data.X.map((r) => [r[0] as number, r[1] as number]),
    labels: data.Y.map((y) => data.genres[y.indexOf(1)] ?? 'none'),
  };
}

/** Saves a split's results (metrics and losses) as JSON in the features folder. */
export function saveGenreResults(params: RunParams, result: GenreModelsResult): string {
  const file = path.join(stepDir(params, 'features'), `results-by-${result.split}.json`);
  writeJsonAtomic(file, result);
  return file;
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

/** The run seed and the next count - 1: the first repetition is the single run above. */
export function studySeeds(params: RunParams, config: MetadataStudyConfig): number[] {
  return Array.from({ length: config.seeds.count }, (_, i) => params.seed + i);
}

/**
 * Step 05d: the four networks trained again for every seed and both splits: the split, the
 * initial weights and the shuffles change with the seed; the features and the PCA are the ones
 * computed once above. Each (split, seed) is saved to features/seeds/ as soon as it is done, so
 * an interrupted repetition resumes with the runs it lacks (and separate processes can share the
 * work). `done` passes results already computed (the single runs of the run seed).
 */
export function repeatOverSeeds(
  params: RunParams,
  config: MetadataStudyConfig,
  data: GenreData,
  options: {
    seeds?: number[];
    done?: GenreModelsResult[];
    log?: ((l: string) => void) | null;
  } = {},
): SeedStudy {
  const seeds = options.seeds ?? studySeeds(params, config);
  const log = options.log === undefined ? console.log : options.log;
  const dir = path.join(stepDir(params, 'features'), 'seeds');
  const key = sha256(JSON.stringify({ ids: data.ids, X: data.X, Y: data.Y, config }));
  const runs: SeedRun[] = [];
  for (const split of ['painting', 'artist'] as const) {
    for (const seed of seeds) {
      const file = path.join(dir, `by-${split}-seed${seed}.json`);
      if (fs.existsSync(file)) {
        const saved = readJson<{ key: string; run: SeedRun }>(file);
        if (saved.key === key) {
          runs.push(saved.run);
          continue;
        }
      }
      const t0 = Date.now();
      const given = seed === params.seed ? options.done?.find((r) => r.split === split) : undefined;
      const result =
        given ??
        trainGenreModels(data, makeSplit(data, split, config, seed), split, config, seed, null);
      const metrics = Object.fromEntries(
        result.models.map((m) => [m.model, seedMetrics(m.report)]),
      ) as SeedRun['metrics'];
      const run: SeedRun = {
        split,
        seed,
        trainRows: result.trainRows,
        testRows: result.testRows,
        seconds: given ? given.models.reduce((s, m) => s + m.seconds, 0) : (Date.now() - t0) / 1000,
        metrics,
      };
      runs.push(run);
      writeJsonAtomic(file, { key, run });
      log?.(
        `seed ${seed}, split by ${split}: ${MODEL_NAMES.map((m) => `${m} ${(100 * metrics[m]['top-genre accuracy']).toFixed(1)}%`).join(', ')} (${run.seconds.toFixed(0)} s)`,
      );
    }
  }
  return { seeds, runs };
}

export interface MetricSpread {
  split: SplitKind;
  model: ModelName;
  metric: SeedMetric;
  values: number[];
  mean: number;
  /** Sample standard deviation over the seeds (n - 1). */
  sd: number;
}

export interface PairedDifference {
  split: SplitKind;
  model: ModelName;
  baseline: ModelName;
  metric: SeedMetric;
  /** model - baseline, per seed. */
  differences: number[];
  /** Seeds on which the model did better than the baseline (lower, for the Hamming loss). */
  wins: number;
  t: PairedTest;
  wilcoxon: PairedTest;
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** Mean and standard deviation of every metric per split and network. */
export function seedSpreads(study: SeedStudy): MetricSpread[] {
  const out: MetricSpread[] = [];
  for (const split of ['painting', 'artist'] as const) {
    const runs = study.runs.filter((r) => r.split === split);
    for (const model of MODEL_NAMES)
      for (const metric of SEED_METRICS) {
        const values = runs.map((r) => r.metrics[model][metric]);
        const m = mean(values);
        const sd =
          values.length > 1
            ? Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1))
            : NaN;
        out.push({ split, model, metric, values, mean: m, sd });
      }
  }
  return out;
}

/**
 * Every network against a baseline (the SNN) on the same splits, per metric: the differences per
 * seed, a paired t-test and a Wilcoxon signed-rank test on them (lib/eval/paired.ts).
 */
export function pairedDifferences(
  study: SeedStudy,
  baseline: ModelName = 'SNN',
): PairedDifference[] {
  const out: PairedDifference[] = [];
  for (const split of ['painting', 'artist'] as const) {
    const runs = study.runs.filter((r) => r.split === split);
    if (runs.length < 2) continue;
    for (const model of MODEL_NAMES) {
      if (model === baseline) continue;
      for (const metric of SEED_METRICS) {
        const a = runs.map((r) => r.metrics[model][metric]);
        const b = runs.map((r) => r.metrics[baseline][metric]);
        const differences = a.map((v, i) => v - (b[i] as number));
        const better = metric === 'Hamming loss' ? (d: number) => d < 0 : (d: number) => d > 0;
        out.push({
          split,
          model,
          baseline,
          metric,
          differences,
          wins: differences.filter(better).length,
          t: pairedTTest(a, b),
          wilcoxon: wilcoxonSignedRank(a, b),
        });
      }
    }
  }
  return out;
}
