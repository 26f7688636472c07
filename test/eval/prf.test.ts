import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { precisionRecallF1Support, type PrfAverage, type ZeroDivision } from '../../lib/eval/prf';
import { ArtstyleError } from '../../lib/util/errors';

interface FixtureResult {
  case: string;
  yTrue: number[];
  yPred: number[];
  labels: number[] | null;
  average: PrfAverage | null;
  zeroDivision: ZeroDivision;
  expected: {
    precision: number | number[];
    recall: number | number[];
    f1: number | number[];
    support: number[] | null;
    warned: boolean;
  };
}

// Written by test/fixtures/prf/make-prf-fixture.py with scikit-learn (see its header).
const fixture = JSON.parse(
  fs.readFileSync(
    path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'prf', 'prf-fixture.json'),
    'utf8',
  ),
) as { sklearn: string; results: FixtureResult[] };

const close = (a: number | number[], b: number | number[], what: string): void => {
  const x = Array.isArray(a) ? a : [a];
  const y = Array.isArray(b) ? b : [b];
  assert.equal(x.length, y.length, `${what}: length`);
  x.forEach((v, i) =>
    assert.ok(Math.abs(v - (y[i] as number)) < 1e-12, `${what}[${i}]: ${v} vs ${y[i]}`),
  );
};

test('the fixture covers empty-true, never-predicted and absent classes, every average and zero_division', () => {
  const r = fixture.results;
  assert.ok(r.length >= 100);
  for (const avg of [null, 'micro', 'macro', 'weighted'])
    assert.ok(r.some((x) => x.average === avg));
  for (const zd of ['warn', 0, 1]) assert.ok(r.some((x) => x.zeroDivision === zd));
  assert.ok(r.some((x) => x.labels !== null));
  assert.ok(r.some((x) => x.expected.warned) && r.some((x) => !x.expected.warned));
});

for (const r of fixture.results) {
  test(`scikit-learn ${fixture.sklearn}: ${r.case}, average ${r.average}, zero_division ${r.zeroDivision}`, () => {
    const got = precisionRecallF1Support(r.yTrue, r.yPred, {
      average: r.average,
      zeroDivision: r.zeroDivision,
      ...(r.labels ? { labels: r.labels } : {}),
    });
    close(got.precision, r.expected.precision, 'precision');
    close(got.recall, r.expected.recall, 'recall');
    close(got.fScore, r.expected.f1, 'f1');
    assert.deepEqual(got.support, r.expected.support);
    assert.equal(got.undefinedMetricWarning, r.expected.warned, 'warning flag');
  });
}

test('ill-defined classes are named per metric; warn scores them as 0', () => {
  // class 1: true, never predicted (precision 0/0); class 3: predicted, never true (recall 0/0);
  // class 4: named in labels, neither (precision, recall and F all 0/0).
  const yt = [0, 0, 1, 1, 2, 2, 2];
  const yp = [0, 3, 0, 2, 2, 2, 3];
  const warn = precisionRecallF1Support(yt, yp, { labels: [0, 1, 2, 3, 4] });
  assert.deepEqual(warn.labels, [0, 1, 2, 3, 4]);
  assert.deepEqual(warn.illDefined, { precision: [1, 4], recall: [3, 4], fScore: [4] });
  assert.equal(warn.undefinedMetricWarning, true);
  assert.equal(warn.precision[1], 0);
  assert.equal(warn.recall[3], 0);
  const one = precisionRecallF1Support(yt, yp, { labels: [0, 1, 2, 3, 4], zeroDivision: 1 });
  assert.deepEqual(one.illDefined, warn.illDefined);
  assert.equal(one.undefinedMetricWarning, false);
  assert.deepEqual([one.precision[1], one.recall[3], one.fScore[4]], [1, 1, 1]);
  // Default labels: the sorted union of both vectors.
  assert.deepEqual(precisionRecallF1Support(yt, yp).labels, [0, 1, 2, 3]);
});

test('micro average over all classes equals accuracy', () => {
  const yt = [0, 1, 2, 2, 1, 0, 3];
  const yp = [0, 2, 2, 2, 1, 1, 0];
  const m = precisionRecallF1Support(yt, yp, { average: 'micro' });
  close([m.precision, m.recall, m.fScore], [4 / 7, 4 / 7, 4 / 7], 'micro');
  assert.equal(m.support, null);
});

test('bad input is named', () => {
  const bad = (f: () => unknown, re: RegExp): void =>
    assert.throws(f, (e: unknown) => e instanceof ArtstyleError && re.test(e.message));
  bad(
    () => precisionRecallF1Support([0, 1], [0]),
    /yPred.*one prediction per true label \(2\), got 1/,
  );
  bad(() => precisionRecallF1Support([], []), /yTrue.*at least one sample/);
  bad(() => precisionRecallF1Support([0, 1.5], [0, 1]), /yTrue\[1\] = 1.5 is not an integer/);
  bad(() => precisionRecallF1Support([0, 1], [0, 1], { labels: [0, 0] }), /labels.*distinct/);
  bad(
    () => precisionRecallF1Support([0, 1], [0, 1], { average: 'binary' as unknown as 'micro' }),
    /average.*got binary/,
  );
  bad(
    () => precisionRecallF1Support([0, 1], [0, 1], { zeroDivision: 2 as unknown as 0 }),
    /zeroDivision.*got 2/,
  );
});
