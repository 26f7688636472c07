import { check } from '../util/errors';
import type { AxisLayout, PlotLayout } from './figure';

/**
 * Okabe & Ito's eight colours (Color Universal Design), which stay distinct under the common
 * colour-vision deficiencies. Black is moved last so that small class counts get the lighter hues.
 */
export const OKABE_ITO = [
  '#E69F00',
  '#56B4E9',
  '#009E73',
  '#F0E442',
  '#0072B2',
  '#D55E00',
  '#CC79A7',
  '#000000',
] as const;

/**
 * Four colours from Paul Tol's "muted" scheme that differ in lightness or hue from all eight
 * Okabe-Ito colours: together they give the 12 sculpture styles twelve distinguishable colours.
 */
export const TOL_MUTED_EXTENSION = ['#882255', '#44AA99', '#999933', '#332288'] as const;

/** The categorical palette: 12 colours, used in this order everywhere. */
export const CATEGORICAL_PALETTE: readonly string[] = [...OKABE_ITO, ...TOL_MUTED_EXTENSION];

/**
 * Marker symbols that multiply the palette when there are more than 12 classes (the painting
 * genres): class i gets colour i mod 12 and symbol floor(i / 12), so every class stays unique.
 */
export const MARKER_SYMBOLS = [
  'circle',
  'square',
  'diamond',
  'triangle-up',
  'x',
  'cross',
  'star',
  'triangle-down',
] as const;

/** Fixed colours for the data splits, so train/val/test look the same in every figure. */
export const SPLIT_COLORS: Readonly<Record<string, string>> = {
  train: '#0072B2',
  val: '#E69F00',
  test: '#009E73',
};

/** The two series of every "train vs validation" or "A vs B" comparison. */
export const PAIR_COLORS = ['#0072B2', '#D55E00'] as const;

/** Sequential, colour-blind-safe scale for confusion matrices (white to dark blue). */
export const SEQUENTIAL_BLUES: Array<[number, string]> = [
  [0, '#f7fbff'],
  [0.25, '#c6dbef'],
  [0.5, '#6baed6'],
  [0.75, '#2171b5'],
  [1, '#08306b'],
];

export interface ClassStyle {
  color: string;
  symbol: string;
}

/** Colour and marker symbol of the class at position `index` of the canonical class order. */
export function classStyle(index: number): ClassStyle {
  check(Number.isInteger(index) && index >= 0, 'index', `must be an integer >= 0, got ${index}`);
  const n = CATEGORICAL_PALETTE.length;
  return {
    color: CATEGORICAL_PALETTE[index % n],
    symbol: MARKER_SYMBOLS[Math.floor(index / n) % MARKER_SYMBOLS.length],
  };
}

/**
 * The colour of each class, keyed by name. Pass the same `classNames` (the data set's class order)
 * to every figure and a class keeps its colour across all of them.
 */
export function classColors(classNames: readonly string[]): Record<string, string> {
  checkClassNames(classNames, 'classNames');
  const out: Record<string, string> = {};
  classNames.forEach((name, i) => (out[name] = classStyle(i).color));
  return out;
}

export function checkClassNames(classNames: readonly string[], argument: string): void {
  check(Array.isArray(classNames), argument, 'must be an array of class names');
  const seen = new Set<string>();
  classNames.forEach((name, i) => {
    check(
      typeof name === 'string' && name.length > 0,
      `${argument}[${i}]`,
      'must be a non-empty string',
    );
    check(!seen.has(name), `${argument}[${i}]`, `duplicate class name ${JSON.stringify(name)}`);
    seen.add(name);
  });
}

/**
 * Canonical class order of a set of labels: `explicit` when given (it must cover every label),
 * otherwise the labels sorted alphabetically, which is also the order the image folders use.
 */
export function classOrder(
  labels: Iterable<string>,
  explicit?: readonly string[],
  argument = 'classNames',
): string[] {
  const present = new Set(labels);
  if (explicit) {
    checkClassNames(explicit, argument);
    const known = new Set(explicit);
    for (const label of present) {
      check(
        known.has(label),
        argument,
        `does not contain class ${JSON.stringify(label)} found in the data`,
      );
    }
    return [...explicit];
  }
  return [...present].sort((a, b) => a.localeCompare(b, 'en'));
}

const FONT = { family: 'Helvetica Neue, Helvetica, Arial, sans-serif', size: 13, color: '#222222' };

/** One look for every figure: white background, light grid, left-aligned title, legend on top. */
export function baseLayout(title: string, extra: PlotLayout = {}): PlotLayout {
  return {
    title: { text: title, x: 0.02, xanchor: 'left', font: { size: 17 } },
    font: FONT,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    margin: { l: 70, r: 30, t: 80, b: 70 },
    legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', xanchor: 'left' },
    colorway: [...CATEGORICAL_PALETTE],
    ...extra,
  };
}

/** An axis with a title, grid and the shared styling. */
export function axis(title: string, extra: AxisLayout = {}): AxisLayout {
  return {
    title: { text: title },
    gridcolor: '#e6e6e6',
    zerolinecolor: '#bdbdbd',
    linecolor: '#808080',
    showline: true,
    automargin: true,
    ...extra,
  };
}

export function checkFinite(value: unknown, argument: string): number {
  check(
    typeof value === 'number' && Number.isFinite(value),
    argument,
    `must be a finite number, got ${String(value)}`,
  );
  return value as number;
}
