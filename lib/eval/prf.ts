import { ArtstyleError, check } from '../util/errors';

/**
 * Single-label precision, recall, F-score and support with the semantics of scikit-learn's
 * `precision_recall_fscore_support` (checked against values it computes, in
 * test/fixtures/prf/): per class, or averaged `micro` (pooled counts), `macro` (unweighted mean
 * over the labels) or `weighted` (mean weighted by support).
 *
 * For class c, with tp = true c predicted c, pred = predicted c, true = true c:
 *   precision = tp / pred,  recall = tp / true,  F = (1 + b^2) P R / (b^2 P + R)  (0 when P = R = 0)
 * A ratio whose denominator is 0 is ill-defined and takes the `zeroDivision` value; `'warn'`
 * (scikit-learn's default) behaves as 0, and where scikit-learn would emit its
 * `UndefinedMetricWarning` the result says so in `undefinedMetricWarning` and names the classes
 * in `illDefined`, instead of printing anything.
 */

export type ZeroDivision = 0 | 1 | 'warn';
export type PrfAverage = 'micro' | 'macro' | 'weighted';

export interface PrfOptions {
  /**
   * The classes to report, in this order (scikit-learn's `labels`). Default: the sorted union of
   * the classes in `yTrue` and `yPred`. A class absent from both may be named (it scores by
   * `zeroDivision`); with `micro`, samples of classes left out do not count.
   */
  labels?: readonly number[];
  /** null (default): one value per class. */
  average?: PrfAverage | null;
  /** The value of an undefined ratio (0/0); default 'warn', which gives 0 and sets the flag. */
  zeroDivision?: ZeroDivision;
  /** F-beta's beta; default 1 (F1). */
  beta?: number;
}

/** Classes whose ratio was 0/0 and took the zeroDivision value (for micro: all labels, pooled). */
export interface IllDefined {
  /** No predicted samples. */
  precision: number[];
  /** No true samples. */
  recall: number[];
  /** Neither true nor predicted samples (F's own 0/0; the other cases of P = R = 0 give F = 0). */
  fScore: number[];
}

interface PrfCommon {
  labels: number[];
  zeroDivision: ZeroDivision;
  illDefined: IllDefined;
  /**
   * True where scikit-learn would warn: `zeroDivision` is 'warn' and a precision or recall was
   * ill-defined (as its `precision_recall_fscore_support`, which does not warn for F alone).
   */
  undefinedMetricWarning: boolean;
}

export interface PerClassPrf extends PrfCommon {
  average: null;
  precision: number[];
  recall: number[];
  fScore: number[];
  support: number[];
}

export interface AveragedPrf extends PrfCommon {
  average: PrfAverage;
  precision: number;
  recall: number;
  fScore: number;
  /** scikit-learn returns no support for an average. */
  support: null;
}

function classIndices(values: ArrayLike<number>, name: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v))
      throw new ArtstyleError(
        'invalid-argument',
        `${name}[${i}] = ${v} is not an integer class label`,
        name,
      );
    out.push(v);
  }
  return out;
}

export function precisionRecallF1Support(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options?: PrfOptions & { average?: null },
): PerClassPrf;
export function precisionRecallF1Support(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options: PrfOptions & { average: PrfAverage },
): AveragedPrf;
export function precisionRecallF1Support(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options?: PrfOptions,
): PerClassPrf | AveragedPrf;
export function precisionRecallF1Support(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options: PrfOptions = {},
): PerClassPrf | AveragedPrf {
  const t = classIndices(yTrue, 'yTrue');
  const p = classIndices(yPred, 'yPred');
  check(t.length > 0, 'yTrue', 'expected at least one sample');
  check(
    p.length === t.length,
    'yPred',
    `expected one prediction per true label (${t.length}), got ${p.length}`,
  );
  const average = options.average ?? null;
  check(
    average === null || average === 'micro' || average === 'macro' || average === 'weighted',
    'average',
    `expected null, 'micro', 'macro' or 'weighted', got ${String(average)}`,
  );
  const zeroDivision = options.zeroDivision ?? 'warn';
  check(
    zeroDivision === 0 || zeroDivision === 1 || zeroDivision === 'warn',
    'zeroDivision',
    `expected 0, 1 or 'warn', got ${String(zeroDivision)}`,
  );
  const beta = options.beta ?? 1;
  check(beta >= 0 && Number.isFinite(beta), 'beta', `expected a finite value >= 0, got ${beta}`);
  const labels = options.labels
    ? classIndices(options.labels, 'labels')
    : [...new Set([...t, ...p])].sort((a, b) => a - b);
  check(labels.length > 0, 'labels', 'expected at least one label');
  check(new Set(labels).size === labels.length, 'labels', 'expected distinct labels');

  const position = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;
  let tp = new Array<number>(k).fill(0);
  let predSum = new Array<number>(k).fill(0);
  let trueSum = new Array<number>(k).fill(0);
  for (let i = 0; i < t.length; i++) {
    const ti = position.get(t[i] as number);
    const pi = position.get(p[i] as number);
    if (ti !== undefined) trueSum[ti]++;
    if (pi !== undefined) predSum[pi]++;
    if (ti !== undefined && ti === pi) tp[ti]++;
  }
  const support = trueSum.slice();
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  // Micro pools the counts first; the ill-defined lists then name every label taking part.
  const owners: number[][] = labels.map((l) => [l]);
  if (average === 'micro') {
    tp = [sum(tp)];
    predSum = [sum(predSum)];
    trueSum = [sum(trueSum)];
    owners.splice(0, owners.length, labels.slice());
  }
  const zdValue = zeroDivision === 1 ? 1 : 0;
  const illDefined: IllDefined = { precision: [], recall: [], fScore: [] };
  const divide = (num: number[], den: number[], into: number[]): number[] =>
    num.map((n, i) => {
      if (den[i] !== 0) return n / (den[i] as number);
      into.push(...(owners[i] as number[]));
      return zdValue;
    });
  const precision = divide(tp, predSum, illDefined.precision);
  const recall = divide(tp, trueSum, illDefined.recall);
  trueSum.forEach((ts, i) => {
    if (ts === 0 && predSum[i] === 0) illDefined.fScore.push(...(owners[i] as number[]));
  });
  const b2 = beta * beta;
  const fScore = precision.map((pr, i) => {
    const r = recall[i] as number;
    const denom = b2 * pr + r;
    return ((1 + b2) * pr * r) / (denom === 0 ? 1 : denom);
  });
  const common: PrfCommon = {
    labels,
    zeroDivision,
    illDefined,
    undefinedMetricWarning:
      zeroDivision === 'warn' && illDefined.precision.length + illDefined.recall.length > 0,
  };
  if (average === null) return { ...common, average, precision, recall, fScore, support };

  const averaged = (precision: number, recall: number, fScore: number): AveragedPrf => ({
    ...common,
    average,
    precision,
    recall,
    fScore,
    support: null,
  });
  if (average === 'weighted') {
    const total = sum(trueSum);
    if (total === 0) {
      // scikit-learn's special case: no true sample among the labels at all.
      return sum(predSum) === 0 ? averaged(zdValue, zdValue, zdValue) : averaged(0, zdValue, 0);
    }
    const weighted = (v: number[]): number =>
      v.reduce((s, x, i) => s + x * (trueSum[i] as number), 0) / total;
    return averaged(weighted(precision), weighted(recall), weighted(fScore));
  }
  const mean = (v: number[]): number => sum(v) / v.length;
  return averaged(mean(precision), mean(recall), mean(fScore));
}
