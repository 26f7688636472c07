/**
 * Metrics for multi-label genre prediction (a painting can have several genres).
 *
 * - `anyMatchAccuracy`: the seed's "accuracy": the genre with the highest score is one of the
 *   painting's genres. Lenient (one right guess suffices, the other genres are ignored); the
 *   reviewer's metrics below are reported beside it.
 * - At a threshold (default 0.5, a genre is predicted when score > threshold, as Keras'
 *   binary accuracy does): subset accuracy (the predicted set equals the true set), Hamming loss
 *   (fraction of wrong cells), per-genre precision / recall / F1 and their micro and macro
 *   averages, with scikit-learn's `zero_division=0` behaviour: an undefined ratio (a genre never
 *   predicted has no precision, a genre absent from the truth has no recall) counts as 0 and the
 *   genre is listed in `zeroDivision`, as sklearn warns. Macro averages include those zeros.
 */
import { Matrix } from 'ml-matrix';
import { check } from '../util/errors';

export type LabelMatrix = Matrix | number[][];

export interface PerLabelScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of rows with this label in the truth. */
  support: number;
  /** Number of rows where this label is predicted. */
  predicted: number;
}

export interface AveragedScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface MultilabelReport {
  threshold: number;
  anyMatchAccuracy: number;
  subsetAccuracy: number;
  hammingLoss: number;
  perLabel: PerLabelScores[];
  micro: AveragedScores;
  macro: AveragedScores;
  /** Labels whose precision / recall / F1 was undefined (0/0) and reported as 0. */
  zeroDivision: { precision: string[]; recall: string[]; f1: string[] };
}

function rowsOf(m: LabelMatrix, name: string): number[][] {
  const rows = m instanceof Matrix ? m.to2DArray() : m;
  check(Array.isArray(rows) && rows.length > 0, name, 'expected at least one row');
  const k = (rows[0] as number[]).length;
  check(k > 0, name, 'expected at least one column');
  rows.forEach((r, i) => {
    check(r.length === k, name, `row ${i} has ${r.length} values, expected ${k}`);
    r.forEach((v, j) =>
      check(Number.isFinite(v), name, `non-finite value at row ${i}, column ${j}`),
    );
  });
  return rows;
}

function checkPair(yTrue: LabelMatrix, yScore: LabelMatrix): { t: number[][]; s: number[][] } {
  const t = rowsOf(yTrue, 'yTrue');
  const s = rowsOf(yScore, 'yScore');
  check(
    t.length === s.length && (t[0] as number[]).length === (s[0] as number[]).length,
    'yScore',
    `shape ${s.length}x${(s[0] as number[]).length} differs from yTrue's ${t.length}x${(t[0] as number[]).length}`,
  );
  t.forEach((r, i) =>
    r.forEach((v, j) =>
      check(v === 0 || v === 1, 'yTrue', `expected 0 or 1, got ${v} at row ${i}, column ${j}`),
    ),
  );
  return { t, s };
}

/** Fraction of rows whose highest-scoring label (first one on ties) is a true label. */
export function anyMatchAccuracy(yTrue: LabelMatrix, yScore: LabelMatrix): number {
  const { t, s } = checkPair(yTrue, yScore);
  let hits = 0;
  s.forEach((row, i) => {
    let best = 0;
    for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[best] as number)) best = j;
    if ((t[i] as number[])[best] === 1) hits++;
  });
  return hits / t.length;
}

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

export function multilabelReport(
  yTrue: LabelMatrix,
  yScore: LabelMatrix,
  options: { threshold?: number; labels?: string[] } = {},
): MultilabelReport {
  const { t, s } = checkPair(yTrue, yScore);
  const threshold = options.threshold ?? 0.5;
  const n = t.length;
  const k = (t[0] as number[]).length;
  const labels = options.labels ?? Array.from({ length: k }, (_, j) => String(j));
  check(labels.length === k, 'labels', `expected ${k} names, got ${labels.length}`);
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  let exactRows = 0;
  let wrongCells = 0;
  for (let i = 0; i < n; i++) {
    let rowExact = true;
    for (let j = 0; j < k; j++) {
      const truth = (t[i] as number[])[j] === 1;
      const pred = ((s[i] as number[])[j] as number) > threshold;
      if (truth && pred) tp[j]++;
      else if (pred) fp[j]++;
      else if (truth) fn[j]++;
      if (truth !== pred) {
        rowExact = false;
        wrongCells++;
      }
    }
    if (rowExact) exactRows++;
  }
  const zeroDivision = { precision: [] as string[], recall: [] as string[], f1: [] as string[] };
  const score = (tpj: number, fpj: number, fnj: number, label: string | null): AveragedScores => {
    const p = ratio(tpj, tpj + fpj);
    const r = ratio(tpj, tpj + fnj);
    if (label !== null && p === null) zeroDivision.precision.push(label);
    if (label !== null && r === null) zeroDivision.recall.push(label);
    const pv = p ?? 0;
    const rv = r ?? 0;
    const f = ratio(2 * pv * rv, pv + rv);
    if (label !== null && f === null) zeroDivision.f1.push(label);
    return { precision: pv, recall: rv, f1: f ?? 0 };
  };
  const perLabel = labels.map((label, j) => ({
    label,
    ...score(tp[j] as number, fp[j] as number, fn[j] as number, label),
    support: (tp[j] as number) + (fn[j] as number),
    predicted: (tp[j] as number) + (fp[j] as number),
  }));
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  const micro = score(sum(tp), sum(fp), sum(fn), null);
  const mean = (f: (p: PerLabelScores) => number): number => sum(perLabel.map(f)) / k;
  return {
    threshold,
    anyMatchAccuracy: anyMatchAccuracy(t, s),
    subsetAccuracy: exactRows / n,
    hammingLoss: wrongCells / (n * k),
    perLabel,
    micro,
    macro: {
      precision: mean((p) => p.precision),
      recall: mean((p) => p.recall),
      f1: mean((p) => p.f1),
    },
    zeroDivision,
  };
}
