import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { metadataProfiles, type MetadataStudyConfig } from '../config/study2';
import { loadPaintingsDataset, type PaintingsDataset } from '../data/paintingsDataset';
import { paintingImagePath, type PaintingImage } from '../data/paintingImages';
import { extractFeatures } from '../features/extract';
import { PCA } from '../features/pca';
import { FeatureStore } from '../features/store';
import { pairedTTest, wilcoxonSignedRank, type PairedTest } from '../eval/paired';
import { preprocessInput } from '../models';
import { ArtstyleError, check } from '../util/errors';
import { readJson, sha256, writeJsonAtomic } from '../util/fs';
import { loadBase, type BaseWeightsSource } from './bases';
import { stepDir, type RunParams } from './params';
import {
  MODEL_NAMES,
  SEED_METRICS,
  seedRun,
  type GenreData,
  type GenreModelsResult,
  type ModelName,
  type SeedMetric,
  type SeedRun,
  type SeedStudy,
  type SplitKind,
} from './study2-train';

export * from './study2-train';

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

/** The run seed and the next count - 1: the first repetition is the single run above. */
export function studySeeds(params: RunParams, config: MetadataStudyConfig): number[] {
  return Array.from({ length: config.seeds.count }, (_, i) => params.seed + i);
}

/** Compiled worker next to this file (absent when this file runs uncompiled: then no threads). */
const SEED_WORKER_SCRIPT = path.join(__dirname, 'study2-worker.js');

export interface RepeatOptions {
  seeds?: number[];
  /** Results already computed (the single runs of the run seed), used for their (split, seed). */
  done?: GenreModelsResult[];
  log?: ((l: string) => void) | null;
  /**
   * Worker threads that train the (split, seed) runs still to do, one run at a time each; the
   * default is one per core, at most 2. 1: every run in this thread, one after another. The
   * numbers do not depend on it: every run is seeded by its own seed and trained alone.
   */
  workers?: number;
}

/**
 * Step 05d: the four networks trained again for every seed and both splits: the split, the
 * initial weights and the shuffles change with the seed; the features and the PCA are the ones
 * computed once above. Each (split, seed) is saved to features/seeds/ as soon as it is done, so
 * an interrupted repetition resumes with the runs it lacks (and separate processes can share the
 * work). The runs still to do are trained on worker threads (`workers`), each run whole on one
 * thread; the progress lines come in the order the runs finish, the result in the fixed order
 * (by painting, then by artist; seeds ascending).
 */
export async function repeatOverSeeds(
  params: RunParams,
  config: MetadataStudyConfig,
  data: GenreData,
  options: RepeatOptions = {},
): Promise<SeedStudy> {
  const seeds = options.seeds ?? studySeeds(params, config);
  const log = options.log === undefined ? console.log : options.log;
  const workers = options.workers ?? Math.min(2, os.cpus().length);
  check(
    Number.isInteger(workers) && workers >= 1,
    'workers',
    `expected an integer >= 1, got ${workers}`,
  );
  const dir = path.join(stepDir(params, 'features'), 'seeds');
  const key = sha256(JSON.stringify({ ids: data.ids, X: data.X, Y: data.Y, config }));
  const jobs = (['painting', 'artist'] as const).flatMap((split) =>
    seeds.map((seed) => ({ split, seed, file: path.join(dir, `by-${split}-seed${seed}.json`) })),
  );
  const runs: (SeedRun | null)[] = jobs.map(({ file }) => {
    if (!fs.existsSync(file)) return null;
    const saved = readJson<{ key: string; run: SeedRun }>(file);
    return saved.key === key ? saved.run : null;
  });
  const finish = (i: number, run: SeedRun): void => {
    runs[i] = run;
    writeJsonAtomic((jobs[i] as { file: string }).file, { key, run });
    log?.(
      `seed ${run.seed}, split by ${run.split}: ${MODEL_NAMES.map((m) => `${m} ${(100 * run.metrics[m]['top-genre accuracy']).toFixed(1)}%`).join(', ')} (${run.seconds.toFixed(0)} s)`,
    );
  };
  const todo: number[] = [];
  jobs.forEach(({ split, seed }, i) => {
    if (runs[i] !== null) return;
    const given = seed === params.seed ? options.done?.find((r) => r.split === split) : undefined;
    if (given) finish(i, seedRun(data, config, split, seed, given));
    else todo.push(i);
  });
  const threads = Math.min(workers, todo.length);
  if (threads > 1 && fs.existsSync(SEED_WORKER_SCRIPT)) {
    await runOnWorkers(threads, todo, data, config, jobs, finish);
  } else {
    for (const i of todo) {
      const { split, seed } = jobs[i] as { split: SplitKind; seed: number };
      finish(i, seedRun(data, config, split, seed));
    }
  }
  return { seeds, runs: runs as SeedRun[] };
}

/** The worker protocol (study2-worker.ts): one job per message, one reply per job. */
export interface SeedJob {
  index: number;
  split: SplitKind;
  seed: number;
}
export type SeedReply =
  | { index: number; run: SeedRun }
  | { index: number; error: string; stack?: string | undefined };

/** Hands the runs `todo` to `threads` workers, the next one to whichever is free first. */
async function runOnWorkers(
  threads: number,
  todo: number[],
  data: GenreData,
  config: MetadataStudyConfig,
  jobs: readonly { split: SplitKind; seed: number }[],
  finish: (i: number, run: SeedRun) => void,
): Promise<void> {
  const queue = [...todo];
  const pool: Worker[] = [];
  const one = (worker: Worker): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const next = (): void => {
        const index = queue.shift();
        if (index === undefined) {
          resolve();
          return;
        }
        const { split, seed } = jobs[index] as { split: SplitKind; seed: number };
        worker.postMessage({ index, split, seed } satisfies SeedJob);
      };
      worker.on('message', (reply: SeedReply) => {
        if ('error' in reply) {
          const { split, seed } = jobs[reply.index] as { split: SplitKind; seed: number };
          reject(
            new ArtstyleError(
              'seed-worker',
              `training split by ${split}, seed ${seed} failed: ${reply.error}`,
              `seed ${seed}`,
            ),
          );
          return;
        }
        try {
          finish(reply.index, reply.run);
        } catch (e) {
          reject(e as Error);
          return;
        }
        next();
      });
      worker.on('error', (e) =>
        reject(new ArtstyleError('seed-worker', `seed worker failed: ${e.message}`, 'worker')),
      );
      worker.on('exit', (code) => {
        if (code !== 0)
          reject(
            new ArtstyleError('seed-worker', `seed worker exited with code ${code}`, 'worker'),
          );
      });
      next();
    });
  try {
    for (let t = 0; t < threads; t++)
      pool.push(new Worker(SEED_WORKER_SCRIPT, { workerData: { data, config } }));
    await Promise.all(pool.map(one));
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
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
