import { check } from '../util/errors';
import type { Figure, PlotTrace } from './figure';
import { PAIR_COLORS, axis, baseLayout, checkFinite, classOrder, classStyle } from './theme';

/**
 * Explained variance ratio per principal component (bars) and its running total (line), with a
 * dotted mark at the component count where the total first reaches `threshold`.
 */
export function explainedVarianceFigure(
  ratio: readonly number[],
  options: { title?: string; threshold?: number } = {},
): Figure {
  check(
    Array.isArray(ratio) && ratio.length > 0,
    'ratio',
    'must be a non-empty array of explained variance ratios',
  );
  let total = 0;
  const cumulative = ratio.map((r, i) => {
    checkFinite(r, `ratio[${i}]`);
    check(r >= 0 && r <= 1, `ratio[${i}]`, `must be in [0, 1], got ${r}`);
    total += r;
    return total;
  });
  check(
    total <= 1 + 1e-6,
    'ratio',
    `sums to ${total.toFixed(4)}, more than 1: pass ratios, not variances`,
  );
  const components = ratio.map((_, i) => i + 1);
  const threshold = options.threshold ?? 0.9;
  const reached = cumulative.findIndex((c) => c >= threshold);
  const data: PlotTrace[] = [
    {
      type: 'bar',
      name: 'per component',
      x: components,
      y: [...ratio],
      marker: { color: PAIR_COLORS[0] },
      hovertemplate: 'component %{x}: %{y:.2%}<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'lines',
      name: 'cumulative',
      x: components,
      y: cumulative,
      line: { color: PAIR_COLORS[1], width: 2 },
      hovertemplate: 'first %{x}: %{y:.2%}<extra></extra>',
    },
  ];
  const shapes =
    reached >= 0
      ? [
          {
            type: 'line',
            xref: 'x',
            yref: 'paper',
            x0: reached + 1,
            x1: reached + 1,
            y0: 0,
            y1: 1,
            line: { color: '#555555', dash: 'dot', width: 1 },
          },
        ]
      : [];
  const annotations =
    reached >= 0
      ? [
          {
            text: `${Math.round(threshold * 100)}% at ${reached + 1} components`,
            x: reached + 1,
            y: threshold,
            xref: 'x',
            yref: 'y',
            xanchor: 'left',
            showarrow: false,
            font: { size: 12 },
          },
        ]
      : [];
  return {
    data,
    layout: baseLayout(options.title ?? 'PCA explained variance', {
      xaxis: axis('Principal component'),
      yaxis: axis('Explained variance ratio', { tickformat: '.0%', range: [0, 1.02] }),
      shapes,
      annotations,
    }),
  };
}

/**
 * A 2-D projection (e.g. the first two principal components) with one trace per class, so each
 * class has its canonical colour (and symbol past 12 classes) and can be toggled in the legend.
 */
export function projection2dFigure(
  points: ReadonlyArray<readonly [number, number]>,
  labels: readonly string[],
  options: { title?: string; classNames?: readonly string[]; axisTitles?: [string, string] } = {},
): Figure {
  check(
    Array.isArray(points) && points.length > 0,
    'points',
    'must be a non-empty array of [x, y]',
  );
  check(
    Array.isArray(labels) && labels.length === points.length,
    'labels',
    `must have one label per point (${points.length}), got ${Array.isArray(labels) ? labels.length : typeof labels}`,
  );
  const byClass = new Map<string, { x: number[]; y: number[] }>();
  points.forEach((p, i) => {
    check(Array.isArray(p) && p.length === 2, `points[${i}]`, 'must be [x, y]');
    checkFinite(p[0], `points[${i}][0]`);
    checkFinite(p[1], `points[${i}][1]`);
    check(
      typeof labels[i] === 'string' && labels[i] !== '',
      `labels[${i}]`,
      'must be a non-empty string',
    );
    let s = byClass.get(labels[i]);
    if (!s) byClass.set(labels[i], (s = { x: [], y: [] }));
    s.x.push(p[0]);
    s.y.push(p[1]);
  });
  const order = classOrder(byClass.keys(), options.classNames);
  const data: PlotTrace[] = [];
  order.forEach((name, i) => {
    const s = byClass.get(name);
    if (!s) return; // keeps the colour of every class fixed even when one is absent here
    const style = classStyle(i);
    data.push({
      type: points.length > 5000 ? 'scattergl' : 'scatter',
      mode: 'markers',
      name,
      x: s.x,
      y: s.y,
      marker: {
        color: style.color,
        symbol: style.symbol,
        size: 6,
        opacity: 0.75,
        line: { width: 0.5, color: '#ffffff' },
      },
      hovertemplate: `${name}<br>(%{x:.3f}, %{y:.3f})<extra></extra>`,
    });
  });
  const [xt, yt] = options.axisTitles ?? ['Component 1', 'Component 2'];
  return {
    data,
    layout: baseLayout(options.title ?? '2-D projection', {
      width: 900,
      height: 600,
      xaxis: axis(xt),
      yaxis: axis(yt),
      legend: { orientation: 'v', x: 1.02, y: 1, xanchor: 'left', yanchor: 'top' },
    }),
  };
}
