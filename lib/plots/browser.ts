import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ArtstyleError, errorMessage } from '../util/errors';
import { inNotebookKernel } from './kernel';

/**
 * One headless Chromium per process, started on first use and reused by every render: starting
 * it costs ~0.3 s, but parsing plotly.js into a page costs ~2.5 s, so one "renderer" page with
 * plotly.js loaded is kept too. Renders are queued on that page one at a time.
 *
 * The browser is closed by `closeBrowser()`, after an idle time (an open browser keeps Node's
 * event loop alive, so a script that forgets to close would otherwise never exit), when the page
 * or browser crashes or a render times out, and when the process exits (Playwright kills the
 * browsers it launched on exit and on SIGINT/SIGTERM/SIGHUP).
 */

/** Flags that let Debian's Chromium start headless on a machine with no network and no GPU. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export function chromiumPath(): string {
  const candidates = [
    process.env.ARTSTYLE_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
  ].filter((p): p is string => typeof p === 'string' && p !== '');
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new ArtstyleError(
      'missing-chromium',
      `no Chromium found (looked at ${candidates.join(', ')}); install it with ` +
        '`apt-get install chromium` or set ARTSTYLE_CHROMIUM to its path',
      'ARTSTYLE_CHROMIUM',
    );
  }
  return found;
}

/** Path of plotly.js as installed by npm; read, never required (it needs a DOM). */
export function plotlyJsPath(): string {
  return require.resolve('plotly.js-dist/plotly.js');
}

let plotlySource: string | undefined;
export function plotlyJsSource(): string {
  plotlySource ??= fs.readFileSync(plotlyJsPath(), 'utf8');
  return plotlySource;
}

let browserPromise: Promise<Browser> | undefined;
let rendererPromise: Promise<Page> | undefined;
let queue: Promise<unknown> = Promise.resolve();
let idleTimer: NodeJS.Timeout | undefined;
let idleMs: number | null | undefined;
let launches = 0;
let active = 0;

/** How many times this process has started Chromium (tests use it to check reuse). */
export function browserLaunchCount(): number {
  return launches;
}

/**
 * Closes the browser after `ms` without renders (null: never). Default: 10 minutes inside a
 * notebook kernel, where the next figure is usually seconds away, 2 s elsewhere.
 */
export function setBrowserIdleTimeout(ms: number | null): void {
  idleMs = ms;
}

function effectiveIdleMs(): number | null {
  if (idleMs !== undefined) return idleMs;
  const env = process.env.ARTSTYLE_BROWSER_IDLE_MS;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env))) return Number(env);
  return inNotebookKernel() ? 600_000 : 2_000;
}

async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const executablePath = chromiumPath();
  try {
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
    launches++;
    browser.on('disconnected', () => {
      browserPromise = undefined;
      rendererPromise = undefined;
    });
    return browser;
  } catch (e) {
    throw new ArtstyleError(
      'chromium-failed',
      `could not start ${executablePath}: ${errorMessage(e)}`,
      executablePath,
      {
        cause: e,
      },
    );
  }
}

/** Whether a browser is started (or starting) in this process. */
export function isBrowserOpen(): boolean {
  return browserPromise !== undefined;
}

/** The process's browser, started on first use. */
export async function getBrowser(): Promise<Browser> {
  if (!browserPromise) {
    browserPromise = launch();
    browserPromise.catch(() => (browserPromise = undefined));
  }
  return browserPromise;
}

/**
 * A new page that can load nothing from the network: every request that is not a file:, data:
 * or about: URL is aborted, so a figure that renders here renders offline.
 */
export async function offlinePage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.route(
    (url) => !/^(file|data|about|blob):/.test(url.protocol),
    (route) => route.abort('internetdisconnected'),
  );
  return page;
}

async function openRenderer(): Promise<Page> {
  const browser = await getBrowser();
  const page = await offlinePage(browser);
  await page.setContent(
    '<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"><div id="holder"></div></body></html>',
  );
  await page.addScriptTag({ content: plotlyJsSource() });
  const ok = await page.evaluate(
    () => typeof (globalThis as { Plotly?: unknown }).Plotly === 'object',
  );
  if (!ok)
    throw new ArtstyleError(
      'plotly-failed',
      `plotly.js from ${plotlyJsPath()} did not load in Chromium`,
      plotlyJsPath(),
    );
  page.on('crash', () => void closeBrowser());
  return page;
}

function armIdleTimer(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const ms = effectiveIdleMs();
  if (ms === null || !browserPromise || active > 0) return;
  idleTimer = setTimeout(() => void closeBrowser(), ms);
}

/**
 * Runs `fn` with the shared browser, which is not closed for idleness while `fn` runs. For work
 * on pages of its own (opening an exported HTML file); renders go through `withRendererPage`.
 */
export async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  active++;
  if (idleTimer) clearTimeout(idleTimer);
  try {
    return await fn(await getBrowser());
  } finally {
    active--;
    armIdleTimer();
  }
}

const RENDER_TIMEOUT_MS = 120_000;

/**
 * Runs `fn` on the shared renderer page (plotly.js loaded, network blocked), one call at a time.
 * A call that times out closes the browser, since the page may be stuck; any other error leaves
 * the browser for the next render.
 */
export function withRendererPage<T>(what: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    active++;
    if (idleTimer) clearTimeout(idleTimer);
    rendererPromise ??= openRenderer();
    rendererPromise.catch(() => (rendererPromise = undefined));
    const page = await rendererPromise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ArtstyleError(
              'render-timeout',
              `${what} took more than ${RENDER_TIMEOUT_MS / 1000} s in Chromium`,
              what,
            ),
          ),
        RENDER_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([fn(page), timeout]);
    } catch (e) {
      if (e instanceof ArtstyleError && e.code === 'render-timeout') await closeBrowser();
      throw e;
    } finally {
      clearTimeout(timer);
      active--;
      armIdleTimer();
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Closes the shared browser if one is open; the next render starts a new one. */
export async function closeBrowser(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const pending = browserPromise;
  browserPromise = undefined;
  rendererPromise = undefined;
  if (!pending) return;
  try {
    const browser = await pending;
    // A wedged browser must not hang the caller; Playwright still kills it when the process exits.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      browser.close(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 15_000))),
    ]);
    clearTimeout(timer);
  } catch {
    // A browser that failed to start or already died has nothing left to close.
  }
}
