import { check } from '../util/errors';
import type { Figure } from './figure';
import { baseLayout } from './theme';

export interface ImageCell {
  /** Encoded image bytes: PNG (or JPEG). */
  png: Uint8Array;
  label: string;
  sublabel?: string | undefined;
}

export interface ImageGridOptions {
  columns: number;
  title: string;
  /** Pixel size of one cell in the rendered figure (default 150). */
  cellSize?: number | undefined;
}

function imageMime(bytes: Uint8Array, argument: string): string {
  check(
    bytes instanceof Uint8Array && bytes.length > 8,
    argument,
    'must be the bytes of an encoded PNG or JPEG',
  );
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  check(false, argument, 'is neither a PNG nor a JPEG (check the first bytes of the encoding)');
  return '';
}

/** `data:` URI of encoded image bytes; throws naming `argument` if they are not PNG/JPEG. */
export function imageDataUri(bytes: Uint8Array, argument = 'png'): string {
  const mime = imageMime(bytes, argument);
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

const LABEL_HEIGHT = 34;

/**
 * A grid of images with a label (and optional second line) under each, drawn as `layout.images`
 * on one hidden pair of axes. Images travel inside the figure as data: URIs, so the figure shows
 * and exports (PNG, SVG, PDF, HTML) with no files or network beside it.
 */
export function imageGridFigure(cells: readonly ImageCell[], options: ImageGridOptions): Figure {
  check(
    Array.isArray(cells) && cells.length > 0,
    'cells',
    'must be a non-empty array of {png, label}',
  );
  const columns = options.columns;
  check(
    Number.isInteger(columns) && columns >= 1,
    'columns',
    `must be an integer >= 1, got ${columns}`,
  );
  const cellSize = options.cellSize ?? 150;
  check(
    Number.isFinite(cellSize) && cellSize >= 32,
    'cellSize',
    `must be >= 32 pixels, got ${cellSize}`,
  );
  const cols = Math.min(columns, cells.length);
  const rows = Math.ceil(cells.length / columns);
  const images: Array<Record<string, unknown>> = [];
  const annotations: Array<Record<string, unknown>> = [];
  // One axis unit per cell; the image takes the top part of its unit and the label the rest.
  const labelFraction = LABEL_HEIGHT / (cellSize + LABEL_HEIGHT);
  cells.forEach((cell, i) => {
    check(typeof cell.label === 'string', `cells[${i}].label`, 'must be a string');
    const col = i % columns;
    const row = Math.floor(i / columns);
    images.push({
      source: imageDataUri(cell.png, `cells[${i}].png`),
      xref: 'x',
      yref: 'y',
      x: col + 0.04,
      y: row + 0.02,
      sizex: 0.92,
      sizey: 0.96 - labelFraction,
      xanchor: 'left',
      yanchor: 'top',
      sizing: 'contain',
      layer: 'above',
    });
    const text = cell.sublabel
      ? `${cell.label}<br><span style="font-size:11px">${cell.sublabel}</span>`
      : cell.label;
    annotations.push({
      text,
      xref: 'x',
      yref: 'y',
      x: col + 0.5,
      y: row + 1 - labelFraction,
      xanchor: 'center',
      yanchor: 'top',
      showarrow: false,
      font: { size: 12 },
    });
  });
  const hidden = { visible: false, showgrid: false, zeroline: false, fixedrange: true };
  const margin = { l: 10, r: 10, t: 60, b: 10 };
  return {
    // An invisible trace keeps the axes (and so the images) drawn; Plotly draws no axes without one.
    data: [
      {
        type: 'scatter',
        mode: 'markers',
        x: [0, cols],
        y: [0, rows],
        marker: { opacity: 0 },
        hoverinfo: 'skip',
        showlegend: false,
      },
    ],
    layout: baseLayout(options.title, {
      width: cols * cellSize + margin.l + margin.r,
      height: rows * (cellSize + LABEL_HEIGHT) + margin.t + margin.b,
      margin,
      xaxis: { ...hidden, range: [0, cols] },
      yaxis: { ...hidden, range: [rows, 0] },
      images,
      annotations,
      showlegend: false,
    }),
  };
}

/**
 * One image and `augmented.length` augmented versions of it in a grid: the original first,
 * then "augmented 1..k", so a reader sees what the augmentation does.
 */
export function augmentationGridFigure(
  original: Uint8Array,
  augmented: readonly Uint8Array[],
  options: { columns?: number; title?: string; label?: string; cellSize?: number } = {},
): Figure {
  check(
    Array.isArray(augmented) && augmented.length > 0,
    'augmented',
    'must be a non-empty array of encoded images',
  );
  const cells: ImageCell[] = [
    { png: original, label: 'original', sublabel: options.label },
    ...augmented.map((png, i) => ({ png, label: `augmented ${i + 1}` })),
  ];
  return imageGridFigure(cells, {
    columns: options.columns ?? Math.min(cells.length, 5),
    title: options.title ?? 'Data augmentation',
    cellSize: options.cellSize,
  });
}
