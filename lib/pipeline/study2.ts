import * as fs from 'node:fs';
import * as path from 'node:path';
import { Matrix } from 'ml-matrix';
import { metadataProfiles, type MetadataStudyConfig } from '../config/study2';
import { loadPaintingsDataset, type PaintingsDataset } from '../data/paintingsDataset';
import { paintingImagePath, type PaintingImage } from '../data/paintingImages';
import { multilabelReport, type MultilabelReport } from '../eval/multilabel';
import { extractFeatures } from '../features/extract';
import { PCA } from '../features/pca';
import { FeatureStore } from '../features/store';
import { AdamNeuralNetwork } from '../mlp/adam';
import { BoostedNeuralNetwork } from '../mlp/bnn';
import { SimpleNeuralNetwork } from '../mlp/snn';
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
  return { dataset, genres: dataset.genreRows, summary: lines.join('\n') };
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

export interface ModelResult {
  model: 'SNN' | 'BNN' | 'Adam';
  /** Training loss per epoch (the BNN: its members' epochs one after another). */
  losses: number[];
  report: MultilabelReport;
  seconds: number;
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
  return {
    split: kind,
    trainRows: split.train.length,
    testRows: split.test.length,
    models: [
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
    ],
  };
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
