import { check } from '../util/errors';
import type { Figure, PlotTrace } from './figure';
import {
  PAIR_COLORS,
  SEQUENTIAL_BLUES,
  axis,
  baseLayout,
  checkClassNames,
  checkFinite,
  classOrder,
} from './theme';

function checkMatrix(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[],
  argument: string,
): void {
  checkClassNames(classNames, 'classNames');
  const n = classNames.length;
  check(
    Array.isArray(matrix) && matrix.length === n,
    argument,
    `must have ${n} rows (one per class), got ${Array.isArray(matrix) ? matrix.length : typeof matrix}`,
  );
  matrix.forEach((row, i) => {
    check(
      Array.isArray(row) && row.length === n,
      `${argument}[${i}]`,
      `must have ${n} columns, got ${Array.isArray(row) ? row.length : typeof row}`,
    );
    row.forEach((v, j) => {
      checkFinite(v, `${argument}[${i}][${j}]`);
      check(v >= 0, `${argument}[${i}][${j}]`, `must be >= 0, got ${v}`);
    });
  });
}

/**
 * Divides each row by its sum, so a cell is the share of the true class predicted as each class
 * (scikit-learn's `normalize='true'`). A class with no samples gets a row of zeros.
 */
export function normalizeRows(matrix: readonly (readonly number[])[]): number[][] {
  return matrix.map((row) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (sum > 0 ? v / sum : 0));
  });
}

export interface ConfusionOptions {
  normalized?: boolean;
  title?: string;
}

function heatmapTrace(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[],
  normalized: boolean,
  axes: { x: string; y: string },
  showscale: boolean,
): PlotTrace {
  const z = normalized ? normalizeRows(matrix) : matrix.map((r) => [...r]);
  const text = z.map((row) => row.map((v) => (normalized ? v.toFixed(2) : String(v))));
  const zmax = normalized ? 1 : Math.max(1, ...z.flat());
  return {
    type: 'heatmap',
    x: [...classNames],
    y: [...classNames],
    z,
    text,
    texttemplate: '%{text}',
    textfont: { size: classNames.length > 10 ? 10 : 12 },
    colorscale: SEQUENTIAL_BLUES,
    zmin: 0,
    zmax,
    showscale,
    xaxis: axes.x,
    yaxis: axes.y,
    colorbar: { title: { text: normalized ? 'share of true class' : 'count' } },
    hovertemplate: 'true %{y}<br>predicted %{x}<br>%{text}<extra></extra>',
  };
}

function matrixAxes(
  classNames: readonly string[],
  suffix: string,
  domain?: [number, number],
): Record<string, unknown> {
  const anchorX = suffix === '' ? 'y' : `y${suffix}`;
  const anchorY = suffix === '' ? 'x' : `x${suffix}`;
  const categories = { type: 'category', categoryorder: 'array', categoryarray: [...classNames] };
  return {
    [`xaxis${suffix}`]: axis('Predicted class', {
      ...categories,
      tickangle: -45,
      anchor: anchorX,
      showgrid: false,
      ...(domain ? { domain } : {}),
    }),
    // True classes read top to bottom in class order, like a printed confusion matrix.
    [`yaxis${suffix}`]: axis('True class', {
      ...categories,
      autorange: 'reversed',
      anchor: anchorY,
      showgrid: false,
      scaleanchor: `x${suffix}`,
    }),
  };
}

/** Confusion matrix heatmap: true class on y, predicted on x, the value written in each cell. */
export function confusionMatrixFigure(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[],
  options: ConfusionOptions = {},
): Figure {
  checkMatrix(matrix, classNames, 'matrix');
  const normalized = options.normalized ?? true;
  const side = Math.max(420, 60 * classNames.length + 200);
  return {
    data: [heatmapTrace(matrix, classNames, normalized, { x: 'x', y: 'y' }, true)],
    layout: baseLayout(
      options.title ?? (normalized ? 'Normalized confusion matrix' : 'Confusion matrix'),
      {
        width: side + 120,
        height: side,
        ...matrixAxes(classNames, ''),
      },
    ),
  };
}

/** Two confusion matrices side by side on one colour scale (e.g. unweighted vs class-weighted). */
export function sideBySideConfusionFigure(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  classNames: readonly string[],
  titles: readonly [string, string],
  options: ConfusionOptions = {},
): Figure {
  checkMatrix(a, classNames, 'a');
  checkMatrix(b, classNames, 'b');
  check(Array.isArray(titles) && titles.length === 2, 'titles', 'must be two panel titles');
  const normalized = options.normalized ?? true;
  const ta = heatmapTrace(a, classNames, normalized, { x: 'x', y: 'y' }, false);
  const tb = heatmapTrace(b, classNames, normalized, { x: 'x2', y: 'y2' }, true);
  if (!normalized) {
    const zmax = Math.max(ta.zmax as number, tb.zmax as number);
    ta.zmax = zmax;
    tb.zmax = zmax;
  }
  const side = Math.max(420, 50 * classNames.length + 220);
  const panelTitle = (text: string, x: number) => ({
    text: `<b>${text}</b>`,
    xref: 'paper',
    yref: 'paper',
    x,
    y: 1.0,
    xanchor: 'center',
    yanchor: 'bottom',
    showarrow: false,
    font: { size: 14 },
  });
  return {
    data: [ta, tb],
    layout: baseLayout(
      options.title ?? (normalized ? 'Normalized confusion matrices' : 'Confusion matrices'),
      {
        width: 2 * side + 80,
        height: side,
        ...matrixAxes(classNames, '', [0, 0.45]),
        ...matrixAxes(classNames, '2', [0.55, 1]),
        annotations: [panelTitle(titles[0], 0.225), panelTitle(titles[1], 0.775)],
      },
    ),
  };
}

export interface PerClassRow {
  className: string;
  a: number;
  b: number;
}

/**
 * Per-class values of two models as grouped bars (e.g. per-style accuracy without and with class
 * weights), with the difference b - a in the hover.
 */
export function perClassComparisonFigure(
  rows: readonly PerClassRow[],
  labels: readonly [string, string],
  options: { title?: string; classNames?: readonly string[]; valueLabel?: string } = {},
): Figure {
  check(
    Array.isArray(rows) && rows.length > 0,
    'rows',
    'must be a non-empty array of {className, a, b}',
  );
  check(Array.isArray(labels) && labels.length === 2, 'labels', 'must be two series labels');
  const byClass = new Map<string, PerClassRow>();
  rows.forEach((row, i) => {
    check(
      typeof row.className === 'string' && row.className !== '',
      `rows[${i}].className`,
      'must be a non-empty string',
    );
    check(
      !byClass.has(row.className),
      `rows[${i}].className`,
      `duplicate class ${JSON.stringify(row.className)}`,
    );
    checkFinite(row.a, `rows[${i}].a`);
    checkFinite(row.b, `rows[${i}].b`);
    byClass.set(row.className, row);
  });
  const classes = classOrder(byClass.keys(), options.classNames).filter((c) => byClass.has(c));
  const valueLabel = options.valueLabel ?? 'Accuracy';
  const isShare = rows.every((r) => r.a >= 0 && r.a <= 1 && r.b >= 0 && r.b <= 1);
  const data: PlotTrace[] = (['a', 'b'] as const).map((key, i) => ({
    type: 'bar',
    name: labels[i],
    x: classes,
    y: classes.map((c) => (byClass.get(c) as PerClassRow)[key]),
    customdata: classes.map((c) => {
      const r = byClass.get(c) as PerClassRow;
      return r.b - r.a;
    }),
    marker: { color: PAIR_COLORS[i] },
    hovertemplate: `%{x}<br>${labels[i]}: %{y:${isShare ? '.1%' : '.3f'}}<br>${labels[1]} - ${labels[0]}: %{customdata:+${isShare ? '.1%' : '.3f'}}<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout(
      options.title ?? `Per-class ${valueLabel.toLowerCase()}: ${labels[0]} vs ${labels[1]}`,
      {
        barmode: 'group',
        xaxis: axis('Class', {
          type: 'category',
          categoryorder: 'array',
          categoryarray: classes,
          tickangle: -35,
        }),
        yaxis: axis(valueLabel, isShare ? { tickformat: '.0%', range: [0, 1] } : {}),
        height: 520,
      },
    ),
  };
}
