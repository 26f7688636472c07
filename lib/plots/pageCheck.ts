import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArtstyleError } from '../util/errors';
import { offlinePage, withBrowser } from './browser';

export interface FiguresInPage {
  /** Figures a reader sees: interactive plots plus static images (each figure counted once). */
  figures: number;
  /** Figures drawn by plotly.js (a `.js-plotly-plot` with its `.main-svg`). */
  interactive: number;
  /** Figures shown as a loaded `data:image/png` image only. */
  static: number;
  /** `data-artstyle-name` of every `showFigure` output in the page, shown or not. */
  names: string[];
  /** Console errors and failed requests, for the test message when a count is off. */
  errors: string[];
}

/**
 * Opens an HTML file (e.g. nbconvert's export of an executed notebook) in headless Chromium with
 * every network request blocked, waits for the plots to draw, and counts the figures a reader
 * would see. A figure counts once whether it shows interactively, as its PNG, or both.
 */
export async function figuresShownInHtml(
  htmlFile: string,
  options: { timeoutMs?: number } = {},
): Promise<FiguresInPage> {
  if (!fs.existsSync(htmlFile))
    throw new ArtstyleError('missing-file', `no HTML file at ${htmlFile}`, htmlFile);
  return withBrowser(async (browser) => {
    const page = await offlinePage(browser);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url().slice(0, 120)}`));
    try {
      await page.goto(pathToFileURL(path.resolve(htmlFile)).href, {
        waitUntil: 'load',
        timeout: options.timeoutMs ?? 60_000,
      });
      // Figure scripts retry for up to 10 s while plotly.js is parsed; wait until each figure has
      // drawn or has given up (plot div hidden again), or the page has no plotly.js at all.
      await page
        .waitForFunction(
          () => {
            const figs = Array.from(document.querySelectorAll('.artstyle-figure'));
            const hasPlotly =
              typeof (window as unknown as { Plotly?: unknown }).Plotly === 'object';
            return figs.every((f) => f.querySelector('.main-svg') !== null || !hasPlotly);
          },
          undefined,
          { timeout: options.timeoutMs ?? 30_000, polling: 200 },
        )
        .catch(() => undefined);
      const counts = await page.evaluate(() => {
        const visible = (el: Element) => {
          const r = (el as HTMLElement).getBoundingClientRect();
          return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
        };
        const plots = Array.from(document.querySelectorAll('.js-plotly-plot')).filter(
          (p) => p.querySelector('.main-svg') && visible(p),
        );
        const imgs = Array.from(document.querySelectorAll('img')).filter(
          (img) =>
            img.src.startsWith('data:image/png') &&
            img.complete &&
            img.naturalWidth > 0 &&
            visible(img),
        );
        const shown = new Set<Element>();
        let interactive = 0;
        let stat = 0;
        // A figure's unit is its .artstyle-figure wrapper, or for other outputs the element itself.
        const unit = (el: Element) => el.closest('.artstyle-figure') ?? el;
        for (const p of plots) {
          if (!shown.has(unit(p))) interactive++;
          shown.add(unit(p));
        }
        for (const img of imgs) {
          // nbconvert also keeps the image/png of a bundle out of the HTML; an img in the same
          // output as an interactive plot is its fallback, not another figure.
          const output = img.closest('.jp-OutputArea-output, .output_area') ?? img;
          const twin = Array.from(shown).some((s) => output.contains(s) || s.contains(img));
          if (!shown.has(unit(img)) && !twin) stat++;
          shown.add(unit(img));
        }
        const names = Array.from(document.querySelectorAll('.artstyle-figure')).map(
          (f) => f.getAttribute('data-artstyle-name') ?? '',
        );
        return { figures: interactive + stat, interactive, static: stat, names };
      });
      return { ...counts, errors };
    } finally {
      await page.close().catch(() => undefined);
    }
  });
}
