import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { offlinePage, plotlyJsPath, withBrowser } from '../../lib/plots/browser';
import { figureHtmlFragment, plotlyLoaderBundle } from '../../lib/plots/display';
import {
  SPLIT_COLORS,
  browserLaunchCount,
  classCountsFigure,
  closeBrowser,
  exportFigure,
  exportFigures,
  figuresShownInHtml,
  imageGridFigure,
  isBrowserOpen,
  renderFigure,
  setBrowserIdleTimeout,
  showFigure,
} from '../../lib/plots';

// One browser for the whole file, kept between tests and closed at the end.
setBrowserIdleTimeout(null);
after(() => closeBrowser());

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-plots-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fig = classCountsFigure(
  ['Baroque', 'Gothic', 'Rococo'].flatMap((className, i) => [
    { className, split: 'train', count: 40 + 10 * i },
    { className, split: 'val', count: 10 + i },
    { className, split: 'test', count: 12 + i },
  ]),
  { title: 'Images per style' },
);

function hexRgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

test('PNG has width*scale x height*scale pixels and the bars in their colours in the plot area', async () => {
  const file = path.join(tmp, 'counts.png');
  await exportFigure(fig, file, { width: 400, height: 300, scale: 2 });
  const { data, info } = await sharp(file)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 800);
  assert.equal(info.height, 600);
  const [r, g, b] = hexRgb(SPLIT_COLORS.train);
  let train = 0;
  let white = 0;
  // Plot area only: skip the title/legend band at the top and the axis labels at the bottom.
  for (let y = 200; y < 450; y++) {
    for (let x = 150; x < 780; x++) {
      const i = (y * info.width + x) * 3;
      if (
        Math.abs(data[i] - r) < 8 &&
        Math.abs(data[i + 1] - g) < 8 &&
        Math.abs(data[i + 2] - b) < 8
      )
        train++;
      if (data[i] === 255 && data[i + 1] === 255 && data[i + 2] === 255) white++;
    }
  }
  assert.ok(
    train > 2000,
    `expected the train bars' colour in the plot area, found ${train} pixels`,
  );
  assert.ok(white > 10000, 'expected white background between the bars');
});

test('an image grid exports with its images drawn (layout images load before the snapshot)', async () => {
  const red = new Uint8Array(
    await sharp({
      create: { width: 32, height: 32, channels: 3, background: { r: 220, g: 20, b: 20 } },
    })
      .png()
      .toBuffer(),
  );
  const grid = imageGridFigure(
    [0, 1, 2, 3].map((i) => ({ png: red, label: `image ${i}` })),
    { columns: 2, title: 'Grid', cellSize: 80 },
  );
  const png = await renderFigure(grid, { format: 'png' });
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, grid.layout.width);
  let redPixels = 0;
  for (let i = 0; i < data.length; i += 3)
    if (data[i] > 200 && data[i + 1] < 40 && data[i + 2] < 40) redPixels++;
  // Four images of about 74 x 74 px each (they keep their aspect ratio inside the cell).
  assert.ok(redPixels > 4 * 60 * 60, `expected the four red images, found ${redPixels} red pixels`);
});

test('SVG parses as an image of the requested size and contains the title', async () => {
  const file = path.join(tmp, 'counts.svg');
  await exportFigure(fig, file, { width: 500, height: 320 });
  const svg = fs.readFileSync(file, 'utf8');
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /Images per style/);
  const meta = await sharp(Buffer.from(svg)).metadata();
  assert.equal(meta.format, 'svg');
  assert.equal(meta.width, 500);
  assert.equal(meta.height, 320);
});

test('PDF has exactly one page of the figure size', async () => {
  const file = path.join(tmp, 'counts.pdf');
  await exportFigure(fig, file, { width: 600, height: 400 });
  const pdf = fs.readFileSync(file).toString('latin1');
  assert.ok(pdf.startsWith('%PDF-'));
  assert.equal(pdf.match(/\/Type\s*\/Page\b(?!s)/g)?.length, 1);
  // 600 x 400 CSS px at 96 dpi = 450 x 300 pt.
  assert.match(pdf, /\/MediaBox\s*\[\s*0 0 450 300\s*\]/);
});

test('HTML export is self-contained: it renders in Chromium with every network request blocked', async () => {
  const file = path.join(tmp, 'counts.html');
  await exportFigure(fig, file);
  const html = fs.readFileSync(file, 'utf8');
  assert.ok(html.length > fs.statSync(plotlyJsPath()).size, 'plotly.js is inlined');
  assert.doesNotMatch(html, /<script[^>]+src=/);
  const page = await withBrowser((b) => offlinePage(b));
  const blocked: string[] = [];
  page.on('requestfailed', (r) => blocked.push(r.url()));
  try {
    await page.goto(`file://${file}`);
    await page.waitForSelector('.main-svg', { timeout: 20_000 });
    assert.equal((await page.locator('.xtick').count()) > 0, true);
    assert.deepEqual(blocked, []);
  } finally {
    await page.close();
  }
});

test('showFigure sends one display_data with HTML, PNG and the marker; plotly.js is sent once', async () => {
  const sent: Array<{ data: Record<string, string>; metadata: Record<string, unknown> }> = [];
  // Stands in for tslab's module in a running kernel (looked up by its path in the module cache).
  const fakePath = path.join(tmp, 'node_modules', 'tslab', 'dist', 'jupyter.js');
  require.cache[fakePath] = {
    exports: { lastWriteDisplayData: (c: (typeof sent)[number]) => sent.push(c) },
  } as unknown as NodeJS.Module;
  try {
    await showFigure(fig, { caption: 'Counts', name: 'counts' });
    await showFigure(fig, { caption: 'Again' });
  } finally {
    delete require.cache[fakePath];
  }
  assert.equal(sent.length, 3);
  assert.match(sent[0].data['text/html'], /^<div class="artstyle-plotly-loader"/);
  for (const out of sent.slice(1)) {
    assert.ok(out.data['image/png'].length > 1000);
    const png = Buffer.from(out.data['image/png'], 'base64');
    assert.equal((await sharp(png).metadata()).width, 800);
    assert.match(out.data['text/html'], /class="artstyle-figure"/);
  }
  assert.equal((sent[1].metadata.artstyle_figure as { name: string }).name, 'counts');
  assert.equal((sent[2].metadata.artstyle_figure as { name: string }).name, 'images-per-style');
});

test('figuresShownInHtml counts interactive plots where plotly.js loads and PNGs where it does not', async () => {
  const fragment = figureHtmlFragment(
    fig,
    { name: 'counts', caption: 'c' },
    (await renderFigure(fig, { format: 'png', width: 300, height: 200 })).toString('base64'),
  );
  const page = (body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"></head><body>${body}</body></html>`;
  const withLoader = path.join(tmp, 'with-loader.html');
  fs.writeFileSync(withLoader, page(plotlyLoaderBundle().data['text/html'] + fragment + fragment));
  const shown = await figuresShownInHtml(withLoader);
  assert.deepEqual(
    { figures: shown.figures, interactive: shown.interactive, static: shown.static },
    { figures: 2, interactive: 2, static: 0 },
    shown.errors.join('\n'),
  );
  assert.deepEqual(shown.names, ['counts', 'counts']);
  // As on GitHub or nbviewer: no plotly.js in the page, so the PNG inside the figure is what shows.
  const staticOnly = path.join(tmp, 'static.html');
  fs.writeFileSync(
    staticOnly,
    page(fragment + '<script src="https://cdn.plot.ly/plotly-latest.min.js"></script>'),
  );
  const fallback = await figuresShownInHtml(staticOnly, { timeoutMs: 3000 });
  assert.deepEqual(
    { figures: fallback.figures, interactive: fallback.interactive, static: fallback.static },
    { figures: 1, interactive: 0, static: 1 },
  );
  assert.ok(
    fallback.errors.some((e) => e.includes('cdn.plot.ly')),
    'the CDN request was blocked',
  );
});

test('many exports share one browser, which exportFigures closes at the end, also on error', async () => {
  await renderFigure(fig, { format: 'png', width: 200, height: 150 });
  const before = browserLaunchCount();
  const files = await exportFigures(
    [1, 2, 3].map((i) => ({
      figure: fig,
      file: path.join(tmp, `many-${i}.png`),
      options: { width: 200, height: 150 },
    })),
  );
  assert.equal(files.length, 3);
  assert.equal(browserLaunchCount(), before, 'the already-open browser was reused');
  assert.equal(isBrowserOpen(), false);
  const bad = [
    { figure: fig, file: path.join(tmp, 'ok.png'), options: { width: 200, height: 150 } },
    { figure: fig, file: path.join(tmp, 'not-a-dir.png', 'x.png') },
  ];
  fs.writeFileSync(path.join(tmp, 'not-a-dir.png'), 'a file, so nothing can be written under it');
  await assert.rejects(exportFigures(bad), /not-a-dir/);
  assert.equal(isBrowserOpen(), false);
  await assert.rejects(
    exportFigure(fig, path.join(tmp, 'x.gif')),
    /format: must be one of png, svg, pdf, html/,
  );
  await assert.rejects(exportFigure(fig, path.join(tmp, 'x.png'), { width: 5 }), /width/);
});
