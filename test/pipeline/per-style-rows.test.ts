import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationReport, type Predictions } from '../../lib/eval/classification';
import { perStylePrfComparisonRows, perStyleTestRows } from '../../lib/pipeline/views1';

function predictions(labels: number[], predicted: number[], classNames: string[]): Predictions {
  const k = classNames.length;
  const probs = new Float32Array(labels.length * k);
  predicted.forEach((p, i) => (probs[i * k + p] = 1));
  return {
    probs,
    labels: Int32Array.from(labels),
    predicted: Int32Array.from(predicted),
    ids: labels.map((_, i) => `img${i}`),
    numClasses: k,
    classNames,
  };
}

test('the per-style test table has accuracy, precision, recall, F1 and support per style', () => {
  // Rococo is never predicted: precision 0/0, shown as 0 with a mark.
  const report = classificationReport(
    predictions([0, 0, 1, 2, 2], [0, 2, 0, 2, 2], ['Baroque', 'Rococo', 'Gothic']),
  );
  const rows = perStyleTestRows(report);
  assert.deepEqual(rows[0], {
    style: 'Baroque',
    accuracy: '50.0%',
    precision: '0.500',
    recall: 0.5,
    F1: 0.5,
    'test images': 2,
    predicted: 2,
  });
  assert.equal(rows[1]!.precision, '0.000*');
  assert.equal(rows[1]!.F1, 0);
  assert.equal(rows[2]!.recall, 1);
  assert.ok(Math.abs((rows[2]!.F1 as number) - 0.8) < 1e-12);
});

test('the per-style comparison lines up both models', () => {
  const names = ['a', 'b'];
  const a = classificationReport(predictions([0, 0, 1, 1], [0, 0, 0, 1], names));
  const b = classificationReport(predictions([0, 0, 1, 1], [0, 1, 1, 1], names));
  const rows = perStylePrfComparisonRows(a, b, ['plain', 'weighted']);
  assert.deepEqual(Object.keys(rows[0]!), [
    'style',
    'plain P',
    'plain R',
    'plain F1',
    'weighted P',
    'weighted R',
    'weighted F1',
    'test images',
  ]);
  assert.ok(Math.abs((rows[0]!['plain P'] as number) - 2 / 3) < 1e-12);
  assert.equal(rows[0]!['weighted R'], 0.5);
  assert.equal(rows[1]!['weighted P'], 2 / 3);
});
