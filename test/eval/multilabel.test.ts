import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Matrix } from 'ml-matrix';
import { anyMatchAccuracy, multilabelReport } from '../../lib/eval/multilabel';

// 4 paintings, 3 genres; genre C is never predicted, genre B never true in row 3.
const yTrue = [
  [1, 0, 1],
  [0, 1, 0],
  [1, 1, 0],
  [0, 0, 1],
];
const yScore = [
  [0.9, 0.2, 0.4], // predicts {A}; top A is true
  [0.6, 0.7, 0.1], // predicts {A, B}; top B is true
  [0.8, 0.3, 0.2], // predicts {A}; top A is true
  [0.3, 0.45, 0.4], // predicts {}; top B is false
];
const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('the seed accuracy: top-scored genre is one of the true genres', () => {
  close(anyMatchAccuracy(yTrue, yScore), 3 / 4);
  close(anyMatchAccuracy(new Matrix(yTrue), new Matrix(yScore)), 3 / 4);
  // Ties go to the first label, as numpy's argmax.
  close(anyMatchAccuracy([[0, 1]], [[0.5, 0.5]]), 0);
});

test('report against hand-computed values, with a genre that is never predicted', () => {
  const r = multilabelReport(yTrue, yScore, { labels: ['A', 'B', 'C'] });
  // Predicted sets: {A}, {A,B}, {A}, {}; true sets: {A,C}, {B}, {A,B}, {C}.
  close(r.subsetAccuracy, 0); // no row exactly right
  close(r.hammingLoss, 4 / 12); // wrong cells: (0,C) (1,A) (2,B) (3,C)
  // A: TP 2 (rows 0,2), FP 1 (row 1), FN 0 -> P 2/3, R 1, F1 0.8
  // B: TP 1 (row 1), FP 0, FN 1 (row 2) -> P 1, R 1/2, F1 2/3
  // C: TP 0, FP 0, FN 2 -> P undefined -> 0, R 0, F1 0 (undefined, reported 0)
  const [a, b, c] = r.perLabel;
  close(a!.precision, 2 / 3);
  close(a!.recall, 1);
  close(a!.f1, 0.8);
  close(b!.precision, 1);
  close(b!.recall, 0.5);
  close(b!.f1, 2 / 3);
  assert.deepEqual([c!.precision, c!.recall, c!.f1, c!.support, c!.predicted], [0, 0, 0, 2, 0]);
  assert.deepEqual(r.zeroDivision, { precision: ['C'], recall: [], f1: ['C'] });
  // micro: TP 3, FP 1, FN 3 -> P 3/4, R 1/2, F1 0.6
  close(r.micro.precision, 0.75);
  close(r.micro.recall, 0.5);
  close(r.micro.f1, 0.6);
  close(r.macro.precision, (2 / 3 + 1 + 0) / 3);
  close(r.macro.recall, (1 + 0.5 + 0) / 3);
  close(r.macro.f1, (0.8 + 2 / 3 + 0) / 3);
  close(r.anyMatchAccuracy, 0.75);
});

test('threshold is strict (>) and configurable; absent genre gives recall zero-division', () => {
  const r = multilabelReport([[1, 0]], [[0.5, 0.9]], { threshold: 0.5 });
  assert.deepEqual(
    r.perLabel.map((p) => p.predicted),
    [0, 1],
  );
  assert.deepEqual(r.zeroDivision.recall, ['1']);
  assert.deepEqual(r.zeroDivision.precision, ['0']);
  close(r.hammingLoss, 1);
  const low = multilabelReport([[1, 0]], [[0.5, 0.9]], { threshold: 0.4 });
  assert.equal(low.perLabel[0]!.predicted, 1);
});

test('bad input is named', () => {
  assert.throws(
    () => anyMatchAccuracy([[1, 0]], [[0.1]]),
    /yScore: shape 1x1 differs from yTrue's 1x2/,
  );
  assert.throws(
    () => multilabelReport([[2, 0]], [[0.1, 0.2]]),
    /yTrue: expected 0 or 1, got 2 at row 0, column 0/,
  );
  assert.throws(
    () => multilabelReport([[1, 0]], [[0.1, NaN]]),
    /yScore: non-finite value at row 0, column 1/,
  );
  assert.throws(
    () => multilabelReport([[1, 0]], [[0.1, 0.2]], { labels: ['a'] }),
    /labels: expected 2 names/,
  );
});
