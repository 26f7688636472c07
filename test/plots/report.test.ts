import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { figureBundle } from '../../lib/plots/display';
import {
  buildReport,
  closeBrowser,
  confusionMatrixFigure,
  explainedVarianceFigure,
  findFigures,
  isBrowserOpen,
  trainingCurvesFigure,
} from '../../lib/plots';

after(() => closeBrowser());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-report-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An executed notebook as nbconvert writes it, with figure outputs as showFigure leaves them. */
function notebook(file: string, outputsPerCell: Array<Array<Record<string, unknown>>>): string {
  const cells = outputsPerCell.map((outputs, i) => ({
    cell_type: 'code',
    id: `c${i}`,
    execution_count: i + 1,
    metadata: {},
    source: [],
    outputs,
  }));
  cells.unshift({ cell_type: 'markdown', id: 'intro', metadata: {}, source: ['# Study'] } as never);
  fs.writeFileSync(file, JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  return file;
}

function figureOutput(
  fig: Parameters<typeof figureBundle>[0],
  name: string,
  caption: string,
): Record<string, unknown> {
  const b = figureBundle(fig, { name, caption }, undefined);
  return { output_type: 'display_data', data: b.data, metadata: b.metadata };
}

const curves = trainingCurvesFigure(
  [1, 2, 3].map((epoch) => ({
    epoch,
    loss: 1 / epoch,
    accuracy: epoch / 4,
    val_loss: 1.1 / epoch,
    val_accuracy: epoch / 5,
  })),
  { title: 'Pre-training' },
);
const cm = confusionMatrixFigure(
  [
    [3, 1],
    [0, 4],
  ],
  ['Baroque', 'Rococo'],
  { title: 'Test set' },
);
const ev = explainedVarianceFigure([0.6, 0.3, 0.1]);

test('buildReport exports every marked figure in notebook order and writes an index with captions', async () => {
  const nb1 = notebook(path.join(tmp, '01-sculptures.ipynb'), [
    [
      { output_type: 'stream', name: 'stdout', text: ['training\n'] },
      figureOutput(curves, 'pretraining', 'Accuracy and loss while pre-training'),
    ],
    [{ output_type: 'display_data', data: { 'text/plain': 'not a figure' }, metadata: {} }],
    [figureOutput(cm, 'confusion', 'Normalized confusion matrix on test')],
  ]);
  const nb2 = notebook(path.join(tmp, '02-paintings.ipynb'), [
    [figureOutput(ev, 'pca', 'PCA explained variance')],
  ]);
  const empty = notebook(path.join(tmp, '03-empty.ipynb'), [[]]);
  assert.deepEqual(
    findFigures(nb1).map((f) => [f.name, f.cellIndex, f.outputIndex]),
    [
      ['pretraining', 1, 1],
      ['confusion', 3, 0],
    ],
  );

  const outDir = path.join(tmp, 'reports');
  const result = await buildReport({ notebooks: [nb1, nb2, empty], outDir, scale: 1 });
  assert.equal(isBrowserOpen(), false, 'the report closes its browser');
  assert.equal(result.figures, 3);
  const names = result.files.map((f) => path.relative(outDir, f));
  assert.deepEqual(names, [
    '01-01-sculptures-pretraining.png',
    '01-01-sculptures-pretraining.svg',
    '02-01-sculptures-confusion.png',
    '02-01-sculptures-confusion.svg',
    '03-02-paintings-pca.png',
    '03-02-paintings-pca.svg',
    'index.html',
  ]);
  const png = await sharp(result.files[2]).metadata();
  assert.equal(png.width, cm.layout.width);
  assert.match(fs.readFileSync(result.files[1], 'utf8'), /Pre-training/);

  const index = fs.readFileSync(path.join(outDir, 'index.html'), 'utf8');
  const order = [
    'Accuracy and loss while pre-training',
    'Normalized confusion matrix on test',
    'PCA explained variance',
  ].map((c) => index.indexOf(c));
  assert.ok(order.every((i) => i > 0));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    'captions appear in notebook order',
  );
  assert.match(index, /<img src="02-01-sculptures-confusion.png"/);
  assert.match(index, /03-empty.ipynb<\/h2>\n<p class="empty">No figures/);
});

test('buildReport names the notebook that is not an executed notebook', async () => {
  const bad = path.join(tmp, 'bad.ipynb');
  fs.writeFileSync(bad, '{"nbformat": 4}');
  await assert.rejects(
    buildReport({ notebooks: [bad], outDir: path.join(tmp, 'r2') }),
    (e: Error) => e.message.includes(bad) && /no "cells"/.test(e.message),
  );
  const broken = notebook(path.join(tmp, 'broken.ipynb'), [
    [
      {
        output_type: 'display_data',
        data: {},
        metadata: { artstyle_figure: { name: 'x', figure: { data: 'nope', layout: {} } } },
      },
    ],
  ]);
  await assert.rejects(
    buildReport({ notebooks: [broken], outDir: path.join(tmp, 'r3') }),
    /broken\.ipynb cell 1 output 0 figure\.data/,
  );
  await assert.rejects(
    buildReport({ notebooks: [broken], outDir: tmp, formats: ['svg'] }),
    /formats/,
  );
});
