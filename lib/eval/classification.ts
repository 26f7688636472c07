import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../train/types';
import { inferenceBatchSize } from '../models/memory';
import { ArtstyleError, check } from '../util/errors';
import { outOfMemoryError } from '../util/out-of-memory';

/**
 * Classification metrics with scikit-learn's semantics, so that numbers here and in a Python
 * notebook agree: `confusion_matrix` (rows = true class), `normalize='true'`, `balanced_accuracy_score`
 * and `f1_score(average='macro')`.
 */

export interface Predictions {
  /** Row-major [n, numClasses] class probabilities. */
  probs: Float32Array;
  labels: Int32Array;
  predicted: Int32Array;
  ids: string[];
  numClasses: number;
  classNames: string[];
}

export interface PredictOptions {
  batchSize?: number;
  /** Applied to each batch of raw 0..255 NHWC pixels before the model (e.g. Xception's scaling). */
  preprocess?: (x: tf.Tensor4D) => tf.Tensor4D;
}

/** Runs the model in inference mode over every batch of `source` (epoch 0: no augmentation). */
export async function predict(
  model: tf.LayersModel,
  source: BatchSource,
  options: PredictOptions = {},
): Promise<Predictions> {
  const requested = options.batchSize ?? 32;
  check(
    Number.isInteger(requested) && requested > 0,
    'batchSize',
    `expected a positive integer, got ${requested}`,
  );
  const batchSize = inferenceBatchSize(model, requested);
  const k = source.numClasses;
  const probs = new Float32Array(source.size * k);
  const labels = new Int32Array(source.size);
  const ids: string[] = [];
  let offset = 0;
  for await (const batch of source.batches(0, batchSize)) {
    let out: tf.Tensor;
    try {
      out = tf.tidy(() => {
        let x: tf.Tensor4D = tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, 3]);
        if (options.preprocess) x = options.preprocess(x);
        return model.predict(x) as tf.Tensor;
      });
    } catch (e) {
      throw (
        outOfMemoryError(e, {
          label: model.name,
          activity: 'prediction',
          batchSize,
          imageSize: batch.height,
          backend: tf.getBackend(),
          smaller: 'a smaller evalBatchSize',
        }) ?? e
      );
    }
    const values = await out.data();
    out.dispose();
    if (values.length !== batch.n * k) {
      throw new ArtstyleError(
        'shape-mismatch',
        `model output has ${values.length / batch.n} values per image; the data set has ${k} classes`,
        'model',
      );
    }
    if (offset + batch.n > source.size) {
      throw new ArtstyleError(
        'size-mismatch',
        `the batch source yielded more than its declared size ${source.size} images`,
        'source',
      );
    }
    probs.set(values as Float32Array, offset * k);
    labels.set(batch.labels, offset);
    ids.push(...batch.ids);
    offset += batch.n;
  }
  if (offset !== source.size) {
    throw new ArtstyleError(
      'size-mismatch',
      `the batch source yielded ${offset} images but declares size ${source.size}`,
      'source',
    );
  }
  return {
    probs,
    labels,
    predicted: argmaxRows(probs, k),
    ids,
    numClasses: k,
    classNames: source.classNames.slice(),
  };
}

/** Index of the largest value of each row (the first on ties, like numpy's argmax). */
export function argmaxRows(values: ArrayLike<number>, numClasses: number): Int32Array {
  const n = values.length / numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < numClasses; j++)
      if (values[i * numClasses + j]! > values[i * numClasses + best]!) best = j;
    out[i] = best;
  }
  return out;
}

function checkPair(labels: ArrayLike<number>, predicted: ArrayLike<number>, k: number): void {
  check(
    labels.length === predicted.length,
    'predicted',
    `expected one prediction per label (${labels.length}), got ${predicted.length}`,
  );
  check(Number.isInteger(k) && k > 0, 'numClasses', `expected a positive integer, got ${k}`);
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predicted[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < k))
      throw new ArtstyleError(
        'invalid-argument',
        `labels[${i}] = ${t} is not a class index in 0..${k - 1}`,
        'labels',
      );
    if (!(Number.isInteger(p) && p >= 0 && p < k))
      throw new ArtstyleError(
        'invalid-argument',
        `predicted[${i}] = ${p} is not a class index in 0..${k - 1}`,
        'predicted',
      );
  }
}

export function accuracy(labels: ArrayLike<number>, predicted: ArrayLike<number>): number {
  check(labels.length > 0, 'labels', 'expected at least one sample');
  check(
    labels.length === predicted.length,
    'predicted',
    `expected one prediction per label (${labels.length}), got ${predicted.length}`,
  );
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predicted[i]) right++;
  return right / labels.length;
}

/** counts[t][p]: images of true class t predicted as p (sklearn `confusion_matrix`). */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number[][] {
  checkPair(labels, predicted, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]!]![predicted[i]!]!++;
  return m;
}

export interface NormalizedConfusion {
  /** Each row divided by its sum: row t is the distribution of predictions for true class t. */
  matrix: number[][];
  /** Classes with no true samples: their row is all zeros (sklearn does the same), not NaN. */
  emptyRows: number[];
}

/** sklearn `confusion_matrix(normalize='true')`; rows without samples become 0 and are listed. */
export function normalizeConfusion(counts: number[][]): NormalizedConfusion {
  const emptyRows: number[] = [];
  const matrix = counts.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    if (total === 0) {
      emptyRows.push(t);
      return row.map(() => 0);
    }
    return row.map((v) => v / total);
  });
  return { matrix, emptyRows };
}

export interface ClassAccuracy {
  classIndex: number;
  className: string;
  /** Recall of the class; NaN when it has no samples. */
  accuracy: number;
  correct: number;
  support: number;
}

/** Per-class accuracy as the seed reports it: the recall of each class. */
export function perClassAccuracy(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: string[],
): ClassAccuracy[] {
  const cm = confusionMatrix(labels, predicted, classNames.length);
  return cm.map((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    const correct = row[t]!;
    return {
      classIndex: t,
      className: classNames[t]!,
      accuracy: support === 0 ? NaN : correct / support,
      correct,
      support,
    };
  });
}

/**
 * sklearn `balanced_accuracy_score`: the mean recall over the classes that occur in `labels`
 * (classes with no true samples are left out, as sklearn does after its warning).
 */
export function balancedAccuracy(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number {
  check(labels.length > 0, 'labels', 'expected at least one sample');
  const cm = confusionMatrix(labels, predicted, numClasses);
  let sum = 0;
  let present = 0;
  cm.forEach((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    if (support > 0) {
      sum += row[t]! / support;
      present++;
    }
  });
  return sum / present;
}

/**
 * sklearn `f1_score(average='macro')` with default `labels=None`: the unweighted mean of per-class
 * F1 over the classes that occur in `labels` or `predicted`; a class with no true positives scores 0
 * (sklearn's `zero_division` default).
 */
export function macroF1(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number {
  check(labels.length > 0, 'labels', 'expected at least one sample');
  const cm = confusionMatrix(labels, predicted, numClasses);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    const tp = cm[c]![c]!;
    let fn = 0;
    let fp = 0;
    for (let j = 0; j < numClasses; j++) {
      if (j === c) continue;
      fn += cm[c]![j]!;
      fp += cm[j]![c]!;
    }
    if (tp + fn + fp === 0) continue;
    sum += (2 * tp) / (2 * tp + fp + fn);
    present++;
  }
  return sum / present;
}

export interface ConfusedPair {
  trueClass: string;
  predictedClass: string;
  count: number;
  /** count / images of the true class. */
  rate: number;
}

/** Off-diagonal cells, largest count first (ties: higher rate, then class order), like fastai's. */
export function mostConfusedPairs(
  counts: number[][],
  classNames: string[],
  top = 10,
  minCount = 1,
): ConfusedPair[] {
  check(
    counts.length === classNames.length,
    'classNames',
    `expected ${counts.length} names, got ${classNames.length}`,
  );
  const pairs: (ConfusedPair & { t: number; p: number })[] = [];
  counts.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      if (p !== t && count >= minCount)
        pairs.push({
          t,
          p,
          trueClass: classNames[t]!,
          predictedClass: classNames[p]!,
          count,
          rate: count / total,
        });
    });
  });
  pairs.sort((a, b) => b.count - a.count || b.rate - a.rate || a.t - b.t || a.p - b.p);
  return pairs.slice(0, top).map(({ trueClass, predictedClass, count, rate }) => ({
    trueClass,
    predictedClass,
    count,
    rate,
  }));
}

export interface WrongImage {
  id: string;
  index: number;
  trueClass: string;
  predictedClass: string;
  /** Probability the model gave its (wrong) prediction. */
  confidence: number;
  /** Probability it gave the true class. */
  trueProbability: number;
}

/** The misclassified images the model was most sure about, most confident first. */
export function mostWrong(predictions: Predictions, top = 16): WrongImage[] {
  const { probs, labels, predicted, ids, numClasses: k, classNames } = predictions;
  const wrong: WrongImage[] = [];
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predicted[i]!;
    if (t === p) continue;
    wrong.push({
      id: ids[i]!,
      index: i,
      trueClass: classNames[t]!,
      predictedClass: classNames[p]!,
      confidence: probs[i * k + p]!,
      trueProbability: probs[i * k + t]!,
    });
  }
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return wrong.slice(0, top);
}

export interface ClassificationReport {
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  perClass: ClassAccuracy[];
  confusion: number[][];
  normalized: NormalizedConfusion;
  mostConfused: ConfusedPair[];
  mostWrong: WrongImage[];
}

/** Everything notebook 03/04 shows about one model on one split. */
export function classificationReport(predictions: Predictions): ClassificationReport {
  const { labels, predicted, numClasses, classNames } = predictions;
  const confusion = confusionMatrix(labels, predicted, numClasses);
  return {
    accuracy: accuracy(labels, predicted),
    balancedAccuracy: balancedAccuracy(labels, predicted, numClasses),
    macroF1: macroF1(labels, predicted, numClasses),
    perClass: perClassAccuracy(labels, predicted, classNames),
    confusion,
    normalized: normalizeConfusion(confusion),
    mostConfused: mostConfusedPairs(confusion, classNames),
    mostWrong: mostWrong(predictions),
  };
}

export interface ClassComparisonRow {
  className: string;
  /** Accuracy (recall) of the class under model A, e.g. the non-weighted model. */
  accuracyA: number;
  accuracyB: number;
  /** B - A, in the same units (the seed's "% Difference" column, in percentage points x 100). */
  difference: number;
  support: number;
}

/**
 * Per-class accuracy of two models on the same images side by side (notebook 04's table of
 * non-weighted vs weighted accuracy per style).
 */
export function compareClassAccuracy(a: ClassAccuracy[], b: ClassAccuracy[]): ClassComparisonRow[] {
  check(
    a.length === b.length && a.every((r, i) => r.className === b[i]!.className),
    'b',
    'expected the same classes in the same order as a',
  );
  return a.map((r, i) => {
    const other = b[i]!;
    check(
      r.support === other.support,
      'b',
      `class ${r.className} has ${r.support} images under a but ${other.support} under b: compare on the same images`,
    );
    return {
      className: r.className,
      accuracyA: r.accuracy,
      accuracyB: other.accuracy,
      difference: other.accuracy - r.accuracy,
      support: r.support,
    };
  });
}
