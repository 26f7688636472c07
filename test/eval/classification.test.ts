import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  accuracy,
  argmaxRows,
  balancedAccuracy,
  classificationReport,
  compareClassAccuracy,
  confusionMatrix,
  macroF1,
  mostConfusedPairs,
  mostWrong,
  normalizeConfusion,
  perClassAccuracy,
  type Predictions,
} from '../../lib/eval/classification';
import { predict } from '../../lib/train/forward';
import { ArtstyleError } from '../../lib/util/errors';
import { MemorySource } from '../train/fixtures';

// Expected values computed with scikit-learn 1.2 (balanced_accuracy_score, f1_score(average=
// 'macro'), confusion_matrix(normalize='true')) on the same vectors.
const yt = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3];
const yp = [0, 1, 0, 1, 2, 2, 2, 0, 3, 3];

test('confusion matrix, accuracy and per-class accuracy', () => {
  const cm = confusionMatrix(yt, yp, 4);
  assert.deepEqual(cm, [
    [2, 1, 0, 0],
    [0, 1, 1, 0],
    [1, 0, 2, 1],
    [0, 0, 0, 1],
  ]);
  assert.equal(accuracy(yt, yp), 0.6);
  const per = perClassAccuracy(yt, yp, ['a', 'b', 'c', 'd']);
  assert.deepEqual(
    per.map((p) => [p.className, p.correct, p.support]),
    [
      ['a', 2, 3],
      ['b', 1, 2],
      ['c', 2, 4],
      ['d', 1, 1],
    ],
  );
  assert.equal(per[2]!.accuracy, 0.5);
  assert.throws(
    () => confusionMatrix([0, 5], [0, 1], 3),
    (e: unknown) => e instanceof ArtstyleError && /labels\[1\] = 5/.test(e.message),
  );
});

test('per-class precision, recall and F1 as scikit-learn (labels=range(k), zero_division=0)', () => {
  // sklearn: precision_recall_fscore_support(yt, yp, labels=[0, 1, 2, 3, 4], zero_division=0)
  const per = perClassAccuracy(yt, yp, ['a', 'b', 'c', 'd', 'e']);
  const near = (a: number[], b: number[]): void =>
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-8, `${v} vs ${b[i]}`));
  near(
    per.map((p) => p.precision),
    [0.66666667, 0.5, 0.66666667, 0.5, 0],
  );
  near(
    per.map((p) => p.recall),
    [0.66666667, 0.5, 0.5, 1, 0],
  );
  near(
    per.map((p) => p.f1),
    [0.66666667, 0.5, 0.57142857, 0.66666667, 0],
  );
  assert.deepEqual(
    per.map((p) => p.predicted),
    [3, 2, 3, 2, 0],
  );
  assert.deepEqual(
    per.map((p) => p.accuracy),
    per.map((p) => p.recall),
  );
  // 'e' has no true and no predicted image: its recall (the seed's accuracy) is 0, not NaN,
  // and every ratio is named as ill-defined.
  assert.equal(per[4]!.accuracy, 0);
  assert.deepEqual(per[4]!.illDefined, ['precision', 'recall', 'f1']);
  assert.deepEqual(per[0]!.illDefined, []);
  // A class predicted but never true: recall 0/0 only.
  const p2 = perClassAccuracy([0, 0, 1], [0, 2, 1], ['a', 'b', 'c']);
  assert.deepEqual(p2[2]!.illDefined, ['recall']);
  near(
    p2.map((p) => p.f1),
    [0.66666667, 1, 0],
  );
});

test('balanced accuracy and macro-F1 agree with scikit-learn', () => {
  assert.ok(Math.abs(balancedAccuracy(yt, yp, 4) - 0.6666666666666666) < 1e-12);
  assert.ok(Math.abs(macroF1(yt, yp, 4) - 0.6011904761904762) < 1e-12);
  // Class 2 is predicted but never true: sklearn leaves it out of balanced accuracy, keeps it
  // (with F1 = 0) in macro-F1; class 3 is absent from both and left out of both.
  const t = [0, 0, 1, 1, 1];
  const p = [0, 2, 1, 1, 0];
  assert.ok(Math.abs(balancedAccuracy(t, p, 4) - 0.5833333333333333) < 1e-12);
  assert.ok(Math.abs(macroF1(t, p, 4) - 0.43333333333333335) < 1e-12);
  const n = normalizeConfusion(confusionMatrix(t, p, 3));
  assert.deepEqual(n.matrix, [
    [0.5, 0, 0.5],
    [1 / 3, 2 / 3, 0],
    [0, 0, 0],
  ]);
  assert.deepEqual(n.emptyRows, [2]);
});

test('most-confused pairs and most-wrong images', () => {
  const cm = [
    [5, 3, 0],
    [1, 6, 3],
    [0, 1, 9],
  ];
  const pairs = mostConfusedPairs(cm, ['a', 'b', 'c'], 2);
  // Two cells of 3: a->b has the higher rate (3/8 > 3/10) and comes first.
  assert.deepEqual(
    pairs.map((p) => [p.trueClass, p.predictedClass, p.count]),
    [
      ['a', 'b', 3],
      ['b', 'c', 3],
    ],
  );
  const preds: Predictions = {
    probs: Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.4, 0.6, 0.3, 0.7]),
    labels: Int32Array.from([0, 0, 0, 1]),
    predicted: argmaxRows([0.9, 0.1, 0.2, 0.8, 0.4, 0.6, 0.3, 0.7], 2),
    ids: ['w', 'x', 'y', 'z'],
    numClasses: 2,
    classNames: ['a', 'b'],
  };
  const wrong = mostWrong(preds);
  assert.deepEqual(
    wrong.map((w) => w.id),
    ['x', 'y'],
  );
  assert.ok(Math.abs(wrong[0]!.confidence - 0.8) < 1e-6);
  assert.ok(Math.abs(wrong[0]!.trueProbability - 0.2) < 1e-6);
});

test('predict runs a model over a batch source and the report ties together', async () => {
  await tf.setBackend('cpu');
  const source = new MemorySource([3, 2, 4], 4, 3, false);
  // A fixed linear model over the mean colour: class = strongest channel.
  const model = tf.sequential();
  model.add(tf.layers.globalAveragePooling2d({ inputShape: [4, 4, 3] }));
  model.add(
    tf.layers.dense({
      units: 3,
      activation: 'softmax',
      weights: [tf.eye(3).mul(0.1), tf.zeros([3])],
    }),
  );
  const p = await predict(model, source, { batchSize: 4 });
  assert.equal(p.ids.length, 9);
  assert.deepEqual(Array.from(p.labels), Array.from(source.labels()));
  assert.deepEqual(
    Array.from(p.predicted),
    Array.from(source.labels()),
    'colour decides the class',
  );
  const report = classificationReport(p);
  assert.equal(report.accuracy, 1);
  assert.equal(report.balancedAccuracy, 1);
  assert.equal(report.mostWrong.length, 0);
  model.dispose();
});

test('compareClassAccuracy lines up two models per class as the seed table', () => {
  const names = ['Baroque', 'Rococo'];
  const t = [0, 0, 0, 0, 1, 1];
  const plain = perClassAccuracy(t, [0, 0, 0, 1, 0, 0], names);
  const weighted = perClassAccuracy(t, [0, 1, 0, 1, 1, 0], names);
  const rows = compareClassAccuracy(plain, weighted);
  assert.deepEqual(
    rows.map((r) => [r.className, r.accuracyA, r.accuracyB, r.difference]),
    [
      ['Baroque', 0.75, 0.5, -0.25],
      ['Rococo', 0, 0.5, 0.5],
    ],
  );
  assert.throws(
    () => compareClassAccuracy(plain, perClassAccuracy([0, 1], [0, 1], names)),
    /same images/,
  );
});
