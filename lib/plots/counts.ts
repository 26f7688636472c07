import { check } from '../util/errors';
import type { Figure, PlotTrace } from './figure';
import { SPLIT_COLORS, axis, baseLayout, checkFinite, classOrder } from './theme';

export interface ClassCountRow {
  className: string;
  split: string;
  count: number;
}

const SPLIT_ORDER = ['train', 'val', 'test'];

/**
 * Images per class, one bar group per class and one bar per split (train/val/test), so that an
 * imbalance and a stratified split are both visible at a glance.
 */
export function classCountsFigure(
  rows: readonly ClassCountRow[],
  options: { title?: string; classNames?: readonly string[] } = {},
): Figure {
  check(
    Array.isArray(rows) && rows.length > 0,
    'rows',
    'must be a non-empty array of {className, split, count}',
  );
  const counts = new Map<string, number>();
  rows.forEach((row, i) => {
    check(
      typeof row.className === 'string' && row.className !== '',
      `rows[${i}].className`,
      'must be a non-empty string',
    );
    check(
      typeof row.split === 'string' && row.split !== '',
      `rows[${i}].split`,
      'must be a non-empty string',
    );
    const count = checkFinite(row.count, `rows[${i}].count`);
    check(count >= 0, `rows[${i}].count`, `must be >= 0, got ${count}`);
    const key = `${row.split}\u0000${row.className}`;
    check(
      !counts.has(key),
      `rows[${i}]`,
      `duplicate row for class ${row.className}, split ${row.split}`,
    );
    counts.set(key, count);
  });
  const classes = classOrder(
    rows.map((r) => r.className),
    options.classNames,
  );
  const splitsPresent = [...new Set(rows.map((r) => r.split))];
  const splits = [
    ...SPLIT_ORDER.filter((s) => splitsPresent.includes(s)),
    ...splitsPresent.filter((s) => !SPLIT_ORDER.includes(s)).sort(),
  ];
  const data: PlotTrace[] = splits.map((split, i) => ({
    type: 'bar',
    name: split,
    x: classes,
    y: classes.map((c) => counts.get(`${split}\u0000${c}`) ?? 0),
    marker: { color: SPLIT_COLORS[split] ?? ['#CC79A7', '#56B4E9', '#999933'][i % 3] },
    hovertemplate: `%{x}<br>${split}: %{y}<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout(options.title ?? 'Images per class and split', {
      barmode: 'group',
      xaxis: axis('Class', {
        type: 'category',
        categoryorder: 'array',
        categoryarray: classes,
        tickangle: -35,
      }),
      yaxis: axis('Images'),
      height: 520,
    }),
  };
}
