import * as path from 'node:path';
import { check, errorMessage } from '../util/errors';
import { readJson } from '../util/fs';
import { plotlyJsPath } from './browser';
import { tslabDisplaySender as kernelSender } from './kernel';
import { checkFigure, figureTitle, inlinePlotlyJs, renderFigure, scriptJson } from './export';
import { type Figure, figureSize } from './figure';
import { escapeHtml } from '../util/html';

/**
 * Key of the output metadata that marks a figure: `{version, name, caption, figure}`. Frontends
 * never render output metadata, and nbformat keeps it, so the report command can find every
 * figure of an executed notebook from its JSON alone.
 */
export const FIGURE_MARKER_KEY = 'artstyle_figure';
export const FIGURE_MARKER_VERSION = 1;

export interface FigureMarker {
  version: number;
  name: string;
  caption: string;
  figure: Figure;
}

/** One Jupyter display_data message content: several MIME types of the same figure. */
export interface DisplayBundle {
  data: Record<string, string>;
  metadata: Record<string, unknown>;
}

export interface ShowOptions {
  caption?: string;
  /** Stable name used for the report's file names; default: the title as a slug. */
  name?: string;
  /** Static PNG size (CSS pixels) and scale; default the figure's size, scale 1. */
  width?: number;
  height?: number;
  scale?: number;
}

/** File-name friendly version of a title: 'Normalized confusion matrix' -> 'normalized-confusion-matrix'. */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '');
  return slug || 'figure';
}

/**
 * The HTML output that loads plotly.js into the notebook page. The library is wrapped so that its
 * UMD header sees no `module`/`define` (the classic Notebook has RequireJS) and sets
 * `window.Plotly`, which every figure output then uses.
 */
export function plotlyLoaderBundle(): DisplayBundle {
  const pkg = path.join(path.dirname(plotlyJsPath()), 'package.json');
  const version = (readJson(pkg) as { version: string }).version;
  return {
    data: {
      'text/html':
        `<div class="artstyle-plotly-loader" style="display:none">plotly.js ${version}</div>` +
        `<script>(function (module, exports, define) {\n${inlinePlotlyJs()}\n}).call(window);</script>`,
      'text/plain': `plotly.js ${version} loaded from ${plotlyJsPath()} for interactive figures`,
    },
    metadata: {},
  };
}

/**
 * The HTML of one figure: an interactive plot drawn by `window.Plotly` when the page has it
 * (JupyterLab, Notebook, VS Code, nbconvert HTML after the loader ran), over the static PNG,
 * which stays where scripts do not run (GitHub, nbviewer, an untrusted notebook).
 */
export function figureHtmlFragment(
  fig: Figure,
  marker: { name: string; caption: string },
  pngBase64: string | undefined,
): string {
  const { width, height } = figureSize(fig);
  const title = figureTitle(fig) || marker.name;
  const interactive = {
    data: fig.data,
    layout: { ...fig.layout, width: undefined, autosize: true },
  };
  const img = pngBase64
    ? `<img class="artstyle-static" alt="${escapeHtml(title)}" src="data:image/png;base64,${pngBase64}" style="max-width:100%;height:auto" width="${width}">`
    : '';
  const caption = marker.caption
    ? `<div class="artstyle-caption" style="font-style:italic;color:#444;margin:4px 0 0 0">${escapeHtml(marker.caption)}</div>`
    : '';
  // Draws once plotly.js is there; polls briefly because the loader output may still be parsing.
  const script = `<script>(function () {
  var root = document.currentScript && document.currentScript.parentNode;
  if (!root) return;
  var fig = ${scriptJson(interactive)};
  var tries = 0;
  function draw() {
    var Plotly = window.Plotly;
    if (!Plotly || !Plotly.newPlot) { if (tries++ < 100) setTimeout(draw, 100); return; }
    var el = root.querySelector('.artstyle-plot');
    el.style.display = 'block';
    Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false}).then(function () {
      var img = root.querySelector('img.artstyle-static');
      if (img) img.style.display = 'none';
    }, function () { el.style.display = 'none'; });
  }
  draw();
})();</script>`;
  return (
    `<div class="artstyle-figure" data-artstyle-name="${escapeHtml(marker.name)}">` +
    `<div class="artstyle-plot" style="display:none;width:100%;max-width:${width}px;height:${height}px"></div>` +
    img +
    caption +
    script +
    '</div>'
  );
}

/**
 * The display_data content of a figure: text/html (interactive + static fallback), image/png
 * (for renderers that skip HTML: nbconvert to PDF/Markdown, some viewers), text/plain, and the
 * marker in the metadata. `pngBase64` may be undefined when no browser could render it.
 */
export function figureBundle(
  fig: Figure,
  options: { name: string; caption: string },
  pngBase64: string | undefined,
): DisplayBundle {
  checkFigure(fig);
  const marker: FigureMarker = {
    version: FIGURE_MARKER_VERSION,
    name: options.name,
    caption: options.caption,
    figure: { data: fig.data, layout: fig.layout },
  };
  const title = figureTitle(fig);
  const data: Record<string, string> = {
    'text/html': figureHtmlFragment(fig, options, pngBase64),
    'text/plain': `[figure ${options.name}] ${title}${options.caption ? ` - ${options.caption}` : ''}`,
  };
  if (pngBase64) data['image/png'] = pngBase64;
  return { data, metadata: { [FIGURE_MARKER_KEY]: marker } };
}

let loaderSent = false;
const shownNames = new Map<string, number>();

/**
 * Sends plotly.js into the notebook page (10 MB, about 13 MB once JSON-escaped in the saved
 * notebook, once per kernel session). `showFigure` calls it before the first figure; call it with
 * `force` to send it again, e.g. after clearing that cell's output. ARTSTYLE_NOTEBOOK_PLOTLY=none
 * skips it: figures then show as PNG only, unless the page already has plotly.js.
 */
export function ensurePlotlyInNotebook(options: { force?: boolean } = {}): boolean {
  const send = kernelSender();
  if (!send || (loaderSent && !options.force)) return false;
  if (process.env.ARTSTYLE_NOTEBOOK_PLOTLY === 'none' && !options.force) return false;
  const bundle = plotlyLoaderBundle();
  send({ ...bundle, transient: {} }, false);
  loaderSent = true;
  return true;
}

function uniqueName(base: string): string {
  const n = (shownNames.get(base) ?? 0) + 1;
  shownNames.set(base, n);
  return n === 1 ? base : `${base}-${n}`;
}

/**
 * Shows a figure in the notebook: interactive where scripts run, a static PNG everywhere else,
 * and a marker for the report. Outside a kernel it prints one line. Resolves to nothing, so that
 * tslab does not print a value after the figure.
 */
export async function showFigure(fig: Figure, options: ShowOptions = {}): Promise<void> {
  checkFigure(fig);
  check(
    options.name === undefined || (typeof options.name === 'string' && options.name !== ''),
    'name',
    'must be a non-empty string',
  );
  const name = options.name ? slugify(options.name) : uniqueName(slugify(figureTitle(fig)));
  const caption = options.caption ?? '';
  let png: string | undefined;
  try {
    const bytes = await renderFigure(fig, {
      format: 'png',
      width: options.width,
      height: options.height,
      scale: options.scale ?? 1,
    });
    png = bytes.toString('base64');
  } catch (e) {
    // The interactive view still works without Chromium; say why the static image is missing.
    console.warn(
      `figure ${name}: no static PNG (${errorMessage(e)}); it will not show on GitHub or nbviewer`,
    );
  }
  const bundle = figureBundle(fig, { name, caption }, png);
  const send = kernelSender();
  if (send) {
    ensurePlotlyInNotebook();
    send({ ...bundle, transient: {} }, false);
  } else {
    console.log(bundle.data['text/plain']);
  }
}
