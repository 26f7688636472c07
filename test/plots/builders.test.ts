import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { ArtstyleError } from '../../lib/util/errors';
import { figureBundle, FIGURE_MARKER_KEY, type FigureMarker } from '../../lib/plots/display';
import { scriptJson } from '../../lib/plots/export';
import {
  CATEGORICAL_PALETTE,
  type ClassCountRow,
  PAIR_COLORS,
  SEED_MODEL_ACCURACY,
  SPLIT_COLORS,
  augmentationGridFigure,
  classColors,
  classCountsFigure,
  classStyle,
  confusionMatrixFigure,
  explainedVarianceFigure,
  imageGridFigure,
  modelComparisonFigure,
  perClassComparisonFigure,
  projection2dFigure,
  sideBySideConfusionFigure,
  sweepOverlayFigure,
  trainingCurvesFigure,
} from '../../lib/plots';

const STYLES = ['Baroque', 'Early Renaissance', 'Rococo'];

/** A valid 2x2 RGB PNG built by hand, so builder tests need no image library. */
function tinyPng(): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, c]);
  };
  const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

function throwsNaming(fn: () => unknown, subject: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ArtstyleError && subject.test(e.message));
}

test('classColors gives 12 distinct colours and the same colour to a class in every call', () => {
  const twelve = Array.from({ length: 12 }, (_, i) => `style${i}`);
  const colors = classColors(twelve);
  assert.equal(new Set(Object.values(colors)).size, 12);
  assert.deepEqual(classColors(twelve), colors);
  assert.equal(colors.style0, CATEGORICAL_PALETTE[0]);
  // Past 12 classes the symbol changes, so (colour, symbol) stays unique for 40 genres.
  const pairs = new Set(Array.from({ length: 40 }, (_, i) => JSON.stringify(classStyle(i))));
  assert.equal(pairs.size, 40);
  throwsNaming(() => classColors(['a', 'b', 'a']), /classNames\[2\].*duplicate/);
});

test('classCountsFigure: one bar trace per split in train/val/test order, classes in the given order', () => {
  const rows: ClassCountRow[] = [];
  for (const split of ['test', 'train', 'val'])
    for (const [i, c] of STYLES.entries())
      rows.push({ className: c, split, count: 10 * (i + 1) + split.length });
  const fig = classCountsFigure(rows, { classNames: ['Rococo', 'Baroque', 'Early Renaissance'] });
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['train', 'val', 'test'],
  );
  assert.deepEqual(fig.data[0].x, ['Rococo', 'Baroque', 'Early Renaissance']);
  assert.deepEqual(fig.data[0].y, [35, 15, 25]);
  assert.equal((fig.data[0].marker as { color: string }).color, SPLIT_COLORS.train);
  assert.equal(fig.layout.xaxis?.title?.text, 'Class');
  assert.equal(fig.layout.yaxis?.title?.text, 'Images');
  assert.ok(fig.layout.title?.text);
  throwsNaming(
    () => classCountsFigure([{ className: 'a', split: 'train', count: -1 }]),
    /rows\[0\]\.count/,
  );
  throwsNaming(() => classCountsFigure(rows, { classNames: ['Rococo'] }), /classNames.*Baroque/);
});

test('imageGridFigure places every image as a data: URI in a grid with its label', () => {
  const png = tinyPng();
  const cells = Array.from({ length: 5 }, (_, i) => ({
    png,
    label: `img ${i}`,
    sublabel: i === 0 ? 'Baroque' : undefined,
  }));
  const fig = imageGridFigure(cells, { columns: 3, title: 'Samples', cellSize: 100 });
  assert.equal(fig.layout.images?.length, 5);
  assert.match(String(fig.layout.images?.[0].source), /^data:image\/png;base64,iVBORw0KGgo/);
  // Image 4 (index 3) starts the second row.
  assert.equal(Math.floor(Number(fig.layout.images?.[3].x)), 0);
  assert.equal(Math.floor(Number(fig.layout.images?.[3].y)), 1);
  assert.match(String(fig.layout.annotations?.[0].text), /img 0.*Baroque/);
  assert.equal(fig.layout.width, 3 * 100 + 20);
  throwsNaming(
    () =>
      imageGridFigure(
        [
          { png, label: 'a' },
          { png: new Uint8Array(20), label: 'b' },
        ],
        { columns: 2, title: 't' },
      ),
    /cells\[1\]\.png/,
  );
  throwsNaming(() => imageGridFigure(cells, { columns: 0, title: 't' }), /columns/);
  const aug = augmentationGridFigure(png, [png, png, png], { label: 'Baroque' });
  assert.equal(aug.layout.images?.length, 4);
  assert.match(String(aug.layout.annotations?.[0].text), /^original/);
  assert.match(String(aug.layout.annotations?.[3].text), /^augmented 3/);
});

const history = [1, 2, 3].map((epoch) => ({
  epoch,
  loss: 1 / epoch,
  accuracy: 0.5 + epoch / 10,
  val_loss: 1.2 / epoch,
  val_accuracy: 0.4 + epoch / 10,
}));

test('trainingCurvesFigure: accuracy and loss panels, training solid and validation dashed', () => {
  const fig = trainingCurvesFigure(history, { title: 'Pre-training' });
  assert.equal(fig.data.length, 4);
  const acc = fig.data.filter((t) => t.xaxis === 'x');
  const loss = fig.data.filter((t) => t.xaxis === 'x2');
  assert.deepEqual(
    acc.map((t) => t.name),
    ['training', 'validation'],
  );
  assert.deepEqual(
    loss[1].y,
    history.map((h) => h.val_loss),
  );
  assert.equal((acc[1].line as { dash: string }).dash, 'dash');
  assert.equal((acc[0].line as { color: string }).color, PAIR_COLORS[0]);
  // One legend entry per series for both panels.
  assert.equal(fig.data.filter((t) => t.showlegend).length, 2);
  assert.equal((fig.layout.yaxis?.title as { text: string }).text, 'Accuracy');
  assert.equal((fig.layout.yaxis2 as { title: { text: string } }).title.text, 'Loss');
  assert.equal(fig.layout.title?.text, 'Pre-training');
  const noVal = trainingCurvesFigure(
    history.map(({ epoch, loss, accuracy }) => ({ epoch, loss, accuracy })),
  );
  assert.equal(noVal.data.length, 2);
  throwsNaming(
    () => trainingCurvesFigure([{ epoch: 1, loss: Number.NaN, accuracy: 0.5 }]),
    /history\[0\]\.loss/,
  );
});

test('sweepOverlayFigure: one line per run with the run label, in run order', () => {
  const runs = ['block0', 'block3', 'block6'].map((label, i) => ({
    label,
    history: history.map((h) => ({ ...h, val_loss: h.val_loss + i })),
  }));
  const fig = sweepOverlayFigure(runs, 'val_loss');
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['block0', 'block3', 'block6'],
  );
  assert.deepEqual(
    fig.data[2].y,
    history.map((h) => h.val_loss + 2),
  );
  assert.equal(fig.layout.yaxis?.title?.text, 'Validation loss');
  assert.equal(new Set(fig.data.map((t) => (t.line as { color: string }).color)).size, 3);
  throwsNaming(
    () =>
      sweepOverlayFigure(
        [{ label: 'x', history: [{ epoch: 1, loss: 1, accuracy: 0.5 }] }],
        'val_accuracy',
      ),
    /runs\[0\]\.history.*val_accuracy/,
  );
  throwsNaming(() => sweepOverlayFigure(runs, 'loss' as 'val_loss'), /metric/);
});

test('confusionMatrixFigure: rows normalised, values written in cells, true on y (top to bottom), predicted on x', () => {
  const m = [
    [8, 2, 0],
    [1, 1, 2],
    [0, 0, 0],
  ];
  const fig = confusionMatrixFigure(m, STYLES, { normalized: true, title: 'Test' });
  const t = fig.data[0];
  assert.equal(t.type, 'heatmap');
  const z = t.z as number[][];
  assert.deepEqual(z[0], [0.8, 0.2, 0]);
  assert.deepEqual(z[1], [0.25, 0.25, 0.5]);
  assert.deepEqual(z[2], [0, 0, 0]);
  assert.deepEqual((t.text as string[][])[1], ['0.25', '0.25', '0.50']);
  assert.equal(t.texttemplate, '%{text}');
  assert.deepEqual(t.x, STYLES);
  assert.deepEqual(t.y, STYLES);
  assert.equal(fig.layout.xaxis?.title?.text, 'Predicted class');
  assert.equal(fig.layout.yaxis?.title?.text, 'True class');
  assert.equal(fig.layout.yaxis?.autorange, 'reversed');
  const counts = confusionMatrixFigure(m, STYLES, { normalized: false });
  assert.deepEqual((counts.data[0].text as string[][])[0], ['8', '2', '0']);
  throwsNaming(() => confusionMatrixFigure([[1, 2]], STYLES), /matrix.*3 rows/);
  throwsNaming(
    () =>
      confusionMatrixFigure(
        [
          [1, 2, 3],
          [1, -1, 0],
          [0, 0, 0],
        ],
        STYLES,
      ),
    /matrix\[1\]\[1\]/,
  );

  const side = sideBySideConfusionFigure(m, m, STYLES, ['unweighted', 'weighted']);
  assert.equal(side.data.length, 2);
  assert.equal(side.data[1].xaxis, 'x2');
  assert.deepEqual(side.data[1].x, STYLES);
  assert.equal((side.layout.xaxis2 as { title: { text: string } }).title.text, 'Predicted class');
  assert.match(JSON.stringify(side.layout.annotations), /unweighted.*weighted/);
});

test('perClassComparisonFigure: two series over the classes in the canonical order', () => {
  const rows = [
    { className: 'Rococo', a: 0.1, b: 0.4 },
    { className: 'Baroque', a: 0.9, b: 0.7 },
  ];
  const fig = perClassComparisonFigure(rows, ['non-weighted', 'weighted']);
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['non-weighted', 'weighted'],
  );
  assert.deepEqual(fig.data[0].x, ['Baroque', 'Rococo']);
  assert.deepEqual(fig.data[1].y, [0.7, 0.4]);
  const ordered = perClassComparisonFigure(rows, ['a', 'b'], {
    classNames: ['Rococo', 'Baroque', 'Gothic'],
  });
  assert.deepEqual(ordered.data[0].x, ['Rococo', 'Baroque']);
  throwsNaming(
    () =>
      perClassComparisonFigure([{ className: 'x', a: 1, b: Number.POSITIVE_INFINITY }], ['a', 'b']),
    /rows\[0\]\.b/,
  );
});

test('explainedVarianceFigure: bars per component and the cumulative line', () => {
  const fig = explainedVarianceFigure([0.5, 0.3, 0.15, 0.05]);
  assert.deepEqual(fig.data[0].x, [1, 2, 3, 4]);
  const cumulative = fig.data[1].y as number[];
  assert.ok(Math.abs(cumulative[3] - 1) < 1e-12);
  assert.ok(Math.abs(cumulative[1] - 0.8) < 1e-12);
  // 90% is first reached at component 3.
  assert.match(JSON.stringify(fig.layout.annotations), /90% at 3 components/);
  throwsNaming(() => explainedVarianceFigure([0.7, 0.6]), /ratio.*more than 1/);
});

test('projection2dFigure: one trace per genre, colours equal to classColors of the class order', () => {
  const genres = ['Impressionism', 'Baroque', 'Cubism'];
  const fig = projection2dFigure(
    [
      [0, 1],
      [1, 2],
      [2, 3],
    ],
    ['Impressionism', 'Cubism', 'Impressionism'],
    { classNames: genres },
  );
  // Baroque has no points here but keeps its slot, so Cubism keeps its colour.
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['Impressionism', 'Cubism'],
  );
  const colors = classColors(genres);
  assert.equal((fig.data[1].marker as { color: string }).color, colors.Cubism);
  assert.deepEqual(fig.data[0].x, [0, 2]);
  throwsNaming(() => projection2dFigure([[0, 1]], ['a', 'b']), /labels.*one label per point/);
});

test('modelComparisonFigure: four metric bar groups and the published accuracies as marks', () => {
  const rows = ['SNN', 'BNN', 'Adam'].map((model, i) => ({
    model,
    accuracy: 0.7 - i / 100,
    precision: 0.6,
    recall: 0.5,
    f1: 0.55,
  }));
  const fig = modelComparisonFigure(rows);
  assert.deepEqual(
    fig.data.slice(0, 4).map((t) => t.name),
    ['accuracy', 'precision', 'recall', 'F1'],
  );
  const ref = fig.data[4];
  assert.equal(ref.name, 'published accuracy');
  assert.deepEqual(ref.y, [0.7313, 0.7325, 0.6655]);
  assert.equal(ref.offsetgroup, fig.data[0].offsetgroup);
  assert.deepEqual(
    SEED_MODEL_ACCURACY.map((r) => r.accuracy * 100),
    [73.13, 73.25, 66.55],
  );
  assert.equal(modelComparisonFigure(rows, null).data.length, 4);
  throwsNaming(
    () =>
      modelComparisonFigure([
        { model: 'SNN', accuracy: 73.1, precision: 0.6, recall: 0.5, f1: 0.5 },
      ]),
    /rows\[0\]\.accuracy.*\[0, 1\]/,
  );
});

test('figureBundle carries interactive HTML with the PNG fallback, the PNG, and the marker', () => {
  const fig = confusionMatrixFigure(
    [
      [1, 0],
      [0, 1],
    ],
    ['a</script><b>', 'b'],
  );
  const bundle = figureBundle(fig, { name: 'cm', caption: 'Test <set>' }, 'iVBORw0KGgo=');
  assert.equal(bundle.data['image/png'], 'iVBORw0KGgo=');
  const html = bundle.data['text/html'];
  assert.match(html, /<img class="artstyle-static"[^>]*src="data:image\/png;base64,iVBORw0KGgo="/);
  assert.match(html, /data-artstyle-name="cm"/);
  assert.match(html, /Test &lt;set&gt;/);
  // The class name cannot close the script early.
  assert.equal(html.match(/<\/script>/g)?.length, 1);
  const marker = bundle.metadata[FIGURE_MARKER_KEY] as FigureMarker;
  assert.equal(marker.name, 'cm');
  assert.equal(marker.caption, 'Test <set>');
  assert.deepEqual(marker.figure.data[0].x, ['a</script><b>', 'b']);
  assert.equal(scriptJson('</script>'), '"\\u003c/script>"');
  const noPng = figureBundle(fig, { name: 'cm', caption: '' }, undefined);
  assert.equal(noPng.data['image/png'], undefined);
  assert.doesNotMatch(noPng.data['text/html'], /<img/);
});
