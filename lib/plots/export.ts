import * as path from 'node:path';
import { ArtstyleError, check, errorMessage } from '../util/errors';
import { writeFileAtomic } from '../util/fs';
import { closeBrowser, plotlyJsSource, withRendererPage } from './browser';
import { type Figure, figureSize } from './figure';
import { escapeHtml } from '../util/html';

export type ExportFormat = 'png' | 'svg' | 'pdf' | 'html';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'pdf', 'html'];

export interface ExportOptions {
  /** Default: taken from the file extension. */
  format?: ExportFormat;
  /** CSS pixels; default: the figure's layout width/height, else 800 x 500. */
  width?: number | undefined;
  height?: number | undefined;
  /** PNG only: device pixels per CSS pixel, so the PNG is width*scale x height*scale. */
  scale?: number | undefined;
}

/** Checks a figure's shape at the door, so a bad one fails here and not deep inside plotly.js. */
export function checkFigure(fig: Figure, argument = 'figure'): void {
  check(
    typeof fig === 'object' && fig !== null,
    argument,
    'must be a Plotly figure {data, layout}',
  );
  check(Array.isArray(fig.data), `${argument}.data`, 'must be an array of traces');
  check(
    typeof fig.layout === 'object' && fig.layout !== null,
    `${argument}.layout`,
    'must be an object',
  );
  fig.data.forEach((t, i) =>
    check(
      typeof t === 'object' && t !== null && typeof t.type === 'string',
      `${argument}.data[${i}]`,
      'must be a trace with a string `type`',
    ),
  );
}

interface Resolved {
  format: ExportFormat;
  width: number;
  height: number;
  scale: number;
}

function resolveOptions(fig: Figure, options: ExportOptions, file?: string): Resolved {
  const ext = file ? path.extname(file).slice(1).toLowerCase() : '';
  const format = options.format ?? (ext as ExportFormat);
  check(
    EXPORT_FORMATS.includes(format),
    'format',
    `must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(format || ext)}`,
  );
  const size = figureSize(fig);
  const width = options.width ?? size.width;
  const height = options.height ?? size.height;
  const scale = options.scale ?? 1;
  check(
    Number.isInteger(width) && width >= 10 && width <= 10_000,
    'width',
    `must be an integer pixel count in [10, 10000], got ${width}`,
  );
  check(
    Number.isInteger(height) && height >= 10 && height <= 10_000,
    'height',
    `must be an integer pixel count in [10, 10000], got ${height}`,
  );
  check(
    Number.isFinite(scale) && scale > 0 && scale <= 10,
    'scale',
    `must be in (0, 10], got ${scale}`,
  );
  return { format, width, height, scale };
}

/** JSON safe to put inside a <script> element: no `</script>` or `<!--` can end it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** plotly.js source safe to inline in a <script> element. */
export function inlinePlotlyJs(): string {
  return plotlyJsSource().replace(/<\/script/gi, '<\\/script');
}

/** Plain title text of a figure (Plotly titles may hold <br> and other tags). */
export function figureTitle(fig: Figure): string {
  return (fig.layout.title?.text ?? '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A self-contained HTML page showing the interactive figure: plotly.js is inlined (about 10 MB),
 * so the file opens anywhere with no network.
 */
export function figureHtml(
  fig: Figure,
  options: { width?: number; height?: number; title?: string } = {},
): string {
  checkFigure(fig);
  const size = figureSize(fig);
  const width = options.width ?? size.width;
  const height = options.height ?? size.height;
  const title = options.title ?? (figureTitle(fig) || 'figure');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '</head><body style="margin:0;background:#fff">',
    `<div id="figure" style="width:${width}px;height:${height}px;max-width:100%"></div>`,
    `<script>${inlinePlotlyJs()}</script>`,
    '<script>',
    `var fig = ${scriptJson({ data: fig.data, layout: { ...fig.layout, width: undefined, height: undefined, autosize: true } })};`,
    "Plotly.newPlot('figure', fig.data, fig.layout, {responsive: true, displaylogo: false});",
    '</script>',
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * Renders a figure to PNG, SVG or PDF bytes in the shared headless Chromium, or to the
 * self-contained HTML page (no browser needed for that).
 */
export async function renderFigure(
  fig: Figure,
  options: ExportOptions & { format: ExportFormat },
): Promise<Buffer> {
  checkFigure(fig);
  const o = resolveOptions(fig, options);
  if (o.format === 'html') return Buffer.from(figureHtml(fig, o), 'utf8');
  const plain = JSON.parse(JSON.stringify({ data: fig.data, layout: fig.layout })) as Figure;
  const what = `rendering ${o.format} of "${figureTitle(fig) || 'untitled figure'}"`;
  try {
    if (o.format === 'pdf') return await renderPdf(plain, o, what);
    const url = await withRendererPage(what, (page) =>
      page.evaluate(
        async ({ fig, o }) => {
          const Plotly = (
            globalThis as unknown as {
              Plotly: { toImage: (f: unknown, o: unknown) => Promise<string> };
            }
          ).Plotly;
          return Plotly.toImage(fig, {
            format: o.format,
            width: o.width,
            height: o.height,
            scale: o.scale,
          });
        },
        { fig: plain, o },
      ),
    );
    return decodeDataUrl(url, o.format);
  } catch (e) {
    if (e instanceof ArtstyleError) throw e;
    throw new ArtstyleError(
      'render-failed',
      `${what} failed: ${errorMessage(e)}`,
      figureTitle(fig),
      { cause: e },
    );
  }
}

function decodeDataUrl(url: string, format: 'png' | 'svg'): Buffer {
  const comma = url.indexOf(',');
  const head = url.slice(0, comma);
  const body = url.slice(comma + 1);
  if (format === 'png') {
    check(head === 'data:image/png;base64', 'format', `Plotly returned ${head} instead of a PNG`);
    return Buffer.from(body, 'base64');
  }
  return Buffer.from(
    head.endsWith(';base64')
      ? Buffer.from(body, 'base64').toString('utf8')
      : decodeURIComponent(body),
    'utf8',
  );
}

async function renderPdf(fig: Figure, o: Resolved, what: string): Promise<Buffer> {
  return withRendererPage(what, async (page) => {
    await page.evaluate(
      async ({ fig, o }) => {
        const Plotly = (
          globalThis as unknown as { Plotly: { newPlot: (...a: unknown[]) => Promise<unknown> } }
        ).Plotly;
        const holder = document.getElementById('holder') as HTMLElement;
        holder.style.cssText = `width:${o.width}px;height:${o.height}px;overflow:hidden`;
        await Plotly.newPlot(
          holder,
          fig.data,
          { ...fig.layout, width: o.width, height: o.height },
          { staticPlot: true },
        );
      },
      { fig, o },
    );
    try {
      // One page the size of the figure; pageRanges guards against a rounding overflow page.
      return await page.pdf({
        width: `${o.width}px`,
        height: `${o.height}px`,
        printBackground: true,
        pageRanges: '1',
        margin: { top: '0', right: '0', bottom: '0', left: '0' },
      });
    } finally {
      await page.evaluate(() => {
        const Plotly = (globalThis as unknown as { Plotly: { purge: (el: unknown) => void } })
          .Plotly;
        const holder = document.getElementById('holder') as HTMLElement;
        Plotly.purge(holder);
        holder.style.cssText = '';
      });
    }
  });
}

/**
 * Writes a figure to `file` (format from the extension unless given), atomically. Returns the path.
 * Consecutive exports share one browser; call `closeBrowser()` when done, or use `exportFigures`.
 */
export async function exportFigure(
  fig: Figure,
  file: string,
  options: ExportOptions = {},
): Promise<string> {
  check(typeof file === 'string' && file !== '', 'file', 'must be a file path');
  const o = resolveOptions(fig, options, file);
  const bytes = await renderFigure(fig, { ...options, format: o.format });
  writeFileAtomic(file, bytes);
  return file;
}

export interface ExportJob {
  figure: Figure;
  file: string;
  options?: ExportOptions;
}

/** Exports many figures with one browser, which is closed afterwards, also when one fails. */
export async function exportFigures(jobs: readonly ExportJob[]): Promise<string[]> {
  try {
    const written: string[] = [];
    for (const job of jobs) written.push(await exportFigure(job.figure, job.file, job.options));
    return written;
  } finally {
    await closeBrowser();
  }
}
