import * as path from 'node:path';
import { ArtstyleError, check } from '../util/errors';
import { readJson, writeFileAtomic } from '../util/fs';
import { FIGURE_MARKER_KEY, type FigureMarker, slugify } from './display';
import {
  type ExportFormat,
  type ExportJob,
  checkFigure,
  exportFigures,
  figureTitle,
} from './export';
import { escapeHtml } from '../util/html';

export interface FoundFigure {
  notebook: string;
  cellIndex: number;
  outputIndex: number;
  name: string;
  caption: string;
  figure: FigureMarker['figure'];
}

interface NotebookJson {
  cells?: Array<{
    cell_type?: string;
    outputs?: Array<{ output_type?: string; metadata?: Record<string, unknown> }>;
  }>;
}

/** Every figure `showFigure` left in the outputs of an executed notebook, in cell order. */
export function findFigures(notebookFile: string): FoundFigure[] {
  const nb = readJson<NotebookJson>(notebookFile);
  if (typeof nb !== 'object' || nb === null || !Array.isArray(nb.cells)) {
    throw new ArtstyleError(
      'corrupt-file',
      `${notebookFile} is not a Jupyter notebook (no "cells" array)`,
      notebookFile,
    );
  }
  const found: FoundFigure[] = [];
  nb.cells.forEach((cell, cellIndex) => {
    if (cell.cell_type !== 'code' || !Array.isArray(cell.outputs)) return;
    cell.outputs.forEach((output, outputIndex) => {
      if (output.output_type !== 'display_data' && output.output_type !== 'execute_result') return;
      const marker = output.metadata?.[FIGURE_MARKER_KEY] as FigureMarker | undefined;
      if (marker === undefined) return;
      const where = `${notebookFile} cell ${cellIndex} output ${outputIndex}`;
      if (
        typeof marker !== 'object' ||
        marker === null ||
        typeof marker.name !== 'string' ||
        typeof marker.figure !== 'object'
      ) {
        throw new ArtstyleError(
          'corrupt-file',
          `${where}: figure marker has no name or figure`,
          where,
        );
      }
      checkFigure(marker.figure, `${where} figure`);
      found.push({
        notebook: notebookFile,
        cellIndex,
        outputIndex,
        name: marker.name,
        caption: typeof marker.caption === 'string' ? marker.caption : '',
        figure: marker.figure,
      });
    });
  });
  return found;
}

export interface ReportOptions {
  /** Executed notebooks, in the order the report shows them. */
  notebooks: readonly string[];
  outDir: string;
  /** Files written per figure; the first must be 'png' (the index shows it). Default png + svg. */
  formats?: readonly ExportFormat[];
  /** PNG scale (default 2, sharp on high-density screens and in print). */
  scale?: number;
  title?: string;
}

export interface ReportResult {
  /** Every file written, index.html last. */
  files: string[];
  figures: number;
}

/**
 * Exports every figure of the executed notebooks into `outDir` (one browser for all, closed at the
 * end, also on error) and writes `index.html`, which shows the PNGs in notebook order with their
 * captions and links to the other formats. A notebook without figures is listed as such.
 */
export async function buildReport(options: ReportOptions): Promise<ReportResult> {
  check(
    Array.isArray(options.notebooks) && options.notebooks.length > 0,
    'notebooks',
    'must list at least one executed .ipynb',
  );
  check(
    typeof options.outDir === 'string' && options.outDir !== '',
    'outDir',
    'must be a folder path',
  );
  const formats = options.formats ?? ['png', 'svg'];
  check(
    formats.length > 0 && formats[0] === 'png',
    'formats',
    `must start with 'png' (the index page shows PNGs), got ${JSON.stringify(formats)}`,
  );
  const scale = options.scale ?? 2;
  const perNotebook = options.notebooks.map((nb) => ({ nb, figures: findFigures(nb) }));
  const jobs: ExportJob[] = [];
  const sections: string[] = [];
  let n = 0;
  for (const { nb, figures } of perNotebook) {
    const stem = slugify(path.basename(nb, '.ipynb'));
    const items: string[] = [];
    const used = new Set<string>();
    for (const f of figures) {
      n++;
      let base = `${String(n).padStart(2, '0')}-${stem}-${slugify(f.name)}`;
      for (let k = 2; used.has(base); k++) base = `${base}-${k}`;
      used.add(base);
      const links: string[] = [];
      for (const format of formats) {
        const file = path.join(options.outDir, `${base}.${format}`);
        jobs.push({
          figure: f.figure,
          file,
          options: { format, scale: format === 'png' ? scale : undefined },
        });
        if (format !== 'png')
          links.push(`<a href="${escapeHtml(path.basename(file))}">${format.toUpperCase()}</a>`);
      }
      const title = figureTitle(f.figure) || f.name;
      items.push(
        `<figure id="${escapeHtml(base)}">\n` +
          `  <img src="${escapeHtml(base)}.png" alt="${escapeHtml(title)}" loading="lazy">\n` +
          `  <figcaption><b>Figure ${n}.</b> ${escapeHtml(f.caption || title)}${links.length ? ` <span class="links">${links.join(' ')}</span>` : ''}</figcaption>\n` +
          '</figure>',
      );
    }
    sections.push(
      `<section>\n<h2>${escapeHtml(path.basename(nb))}</h2>\n` +
        (items.length ? items.join('\n') : '<p class="empty">No figures in this notebook.</p>') +
        '\n</section>',
    );
  }
  const written = await exportFigures(jobs);
  const title = options.title ?? 'artstyle-lab report';
  const index = path.join(options.outDir, 'index.html');
  writeFileAtomic(
    index,
    [
      '<!doctype html>',
      '<html lang="en"><head><meta charset="utf-8">',
      `<title>${escapeHtml(title)}</title>`,
      '<style>body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}',
      'figure{margin:2em 0}img{max-width:100%;height:auto;border:1px solid #eee}figcaption{margin-top:.4em;color:#444}',
      '.links a{margin-left:.6em;font-size:.9em}</style>',
      '</head><body>',
      `<h1>${escapeHtml(title)}</h1>`,
      `<p>${n} figures from ${perNotebook.length} notebooks, in notebook order.</p>`,
      ...sections,
      '</body></html>',
      '',
    ].join('\n'),
  );
  return { files: [...written, index], figures: n };
}
