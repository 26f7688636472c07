import { check } from '../util/errors';
import type { Figure, PlotTrace } from './figure';
import { axis, baseLayout, checkFinite, classStyle } from './theme';

export interface ModelMetricsRow {
  model: string;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface ReferenceAccuracy {
  model: string;
  accuracy: number;
}

/** Test accuracies the metadata study reports for its three networks (shares, not percent). */
export const SEED_MODEL_ACCURACY: readonly ReferenceAccuracy[] = [
  { model: 'SNN', accuracy: 0.7313 },
  { model: 'BNN', accuracy: 0.7325 },
  { model: 'Adam', accuracy: 0.6655 },
];

const METRICS = ['accuracy', 'precision', 'recall', 'f1'] as const;

/**
 * Accuracy, precision, recall and F1 per model as grouped bars, with the published accuracy of
 * each model drawn as a black mark over its accuracy bar, so a reproduction can be read against it.
 */
export function modelComparisonFigure(
  rows: readonly ModelMetricsRow[],
  reference: readonly ReferenceAccuracy[] | null = SEED_MODEL_ACCURACY,
  options: { title?: string } = {},
): Figure {
  check(
    Array.isArray(rows) && rows.length > 0,
    'rows',
    'must be a non-empty array of {model, accuracy, precision, recall, f1}',
  );
  const models: string[] = [];
  rows.forEach((row, i) => {
    check(
      typeof row.model === 'string' && row.model !== '',
      `rows[${i}].model`,
      'must be a non-empty string',
    );
    check(
      !models.includes(row.model),
      `rows[${i}].model`,
      `duplicate model ${JSON.stringify(row.model)}`,
    );
    models.push(row.model);
    for (const m of METRICS) {
      const v = checkFinite(row[m], `rows[${i}].${m}`);
      check(v >= 0 && v <= 1, `rows[${i}].${m}`, `must be a share in [0, 1], got ${v}`);
    }
  });
  const data: PlotTrace[] = METRICS.map((metric, i) => ({
    type: 'bar',
    name: metric === 'f1' ? 'F1' : metric,
    x: models,
    y: rows.map((r) => r[metric]),
    offsetgroup: metric,
    marker: { color: classStyle(i === 0 ? 4 : i === 1 ? 0 : i === 2 ? 2 : 6).color },
    text: rows.map((r) => `${(r[metric] * 100).toFixed(1)}`),
    textposition: 'outside',
    hovertemplate: `%{x}<br>${metric}: %{y:.2%}<extra></extra>`,
  }));
  const refs = (reference ?? []).filter((ref, i) => {
    checkFinite(ref.accuracy, `reference[${i}].accuracy`);
    check(
      ref.accuracy >= 0 && ref.accuracy <= 1,
      `reference[${i}].accuracy`,
      `must be a share in [0, 1], got ${ref.accuracy}`,
    );
    return models.includes(ref.model);
  });
  if (refs.length > 0) {
    // scattermode 'group' with the accuracy bars' offsetgroup puts each mark over its accuracy bar.
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: 'published accuracy',
      x: refs.map((r) => r.model),
      y: refs.map((r) => r.accuracy),
      offsetgroup: 'accuracy',
      marker: {
        symbol: 'line-ew-open',
        size: 26,
        color: '#000000',
        line: { width: 3, color: '#000000' },
      },
      hovertemplate: '%{x}<br>published accuracy: %{y:.2%}<extra></extra>',
    });
  }
  return {
    data,
    layout: baseLayout(options.title ?? 'Model comparison on the test set', {
      barmode: 'group',
      scattermode: 'group',
      xaxis: axis('Model', { type: 'category' }),
      yaxis: axis('Score', { tickformat: '.0%', range: [0, 1.08] }),
      height: 480,
    }),
  };
}
