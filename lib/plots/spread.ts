import { check } from '../util/errors';
import type { Figure, PlotTrace } from './figure';
import { PAIR_COLORS, axis, baseLayout, checkFinite } from './theme';

export interface SeedValue {
  model: string;
  /** The group drawn side by side within a model, e.g. the split ('painting', 'artist'). */
  group: string;
  seed: number;
  value: number;
}

/**
 * The spread of a metric over seeds: one box per model and group with every seed's value as a
 * point beside it (hover names the seed), so a reader sees whether two models' ranges overlap.
 */
export function seedSpreadFigure(
  values: readonly SeedValue[],
  options: { title?: string; metric?: string; share?: boolean } = {},
): Figure {
  check(Array.isArray(values) && values.length > 0, 'values', 'must be a non-empty array');
  const models: string[] = [];
  const groups: string[] = [];
  values.forEach((v, i) => {
    check(typeof v.model === 'string' && v.model !== '', `values[${i}].model`, 'must be a name');
    check(typeof v.group === 'string' && v.group !== '', `values[${i}].group`, 'must be a name');
    checkFinite(v.value, `values[${i}].value`);
    if (!models.includes(v.model)) models.push(v.model);
    if (!groups.includes(v.group)) groups.push(v.group);
  });
  const share = options.share ?? true;
  const data: PlotTrace[] = groups.map((g, i) => {
    const rows = values.filter((v) => v.group === g);
    return {
      type: 'box',
      name: g,
      x: rows.map((r) => r.model),
      y: rows.map((r) => r.value),
      text: rows.map((r) => `seed ${r.seed}`),
      boxpoints: 'all',
      jitter: 0.3,
      pointpos: 0,
      marker: { color: PAIR_COLORS[i % PAIR_COLORS.length], size: 7 },
      line: { color: PAIR_COLORS[i % PAIR_COLORS.length] },
      offsetgroup: g,
      hovertemplate: `%{x}, ${g}, %{text}: %{y${share ? ':.2%' : ':.3f'}}<extra></extra>`,
    };
  });
  return {
    data,
    layout: baseLayout(options.title ?? 'Spread over seeds', {
      boxmode: 'group',
      xaxis: axis('Model', { type: 'category', categoryarray: models }),
      yaxis: axis(options.metric ?? 'Value', share ? { tickformat: '.0%' } : {}),
      legend: { title: { text: 'split by' } },
      height: 460,
    }),
  };
}
