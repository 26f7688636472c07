import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pairedTTest,
  regularizedBeta,
  studentTTwoSided,
  wilcoxonSignedRank,
} from '../../lib/eval/paired';
import { ArtstyleError } from '../../lib/util/errors';

// Expected values from scipy 1.10 (scipy.stats.ttest_rel, wilcoxon, t.sf) on the same vectors.
const near = (a: number, b: number, tol = 1e-10): void =>
  assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test("Student's t two-sided p-values as scipy", () => {
  near(studentTTwoSided(2.5, 3), 0.08770664700806555);
  near(studentTTwoSided(0.3, 17), 0.767814496970296);
  near(studentTTwoSided(-10, 1), 0.06345103486110712);
  near(regularizedBeta(0.5, 2, 2), 0.5);
});

test('paired t-test and Wilcoxon signed-rank as scipy', () => {
  const cases: [number[], number[], number, number, number, number][] = [
    [
      [0.71, 0.69, 0.74, 0.7, 0.72, 0.68],
      [0.7, 0.705, 0.71, 0.66, 0.715, 0.69],
      1.129865365732067,
      0.30980271627921774,
      6,
      0.4375,
    ],
    [
      [0.5, 0.61, 0.55, 0.58, 0.52],
      [0.48, 0.57, 0.56, 0.5, 0.47],
      2.3946843788558625,
      0.07478641854987086,
      1,
      0.125,
    ],
    [
      [1, 2, 3, 4, 5, 6, 7, 8],
      [0, 0, 0, 0, 0, 0, 0, -10],
      3.0464244212496006,
      0.018677051985472752,
      0,
      0.0078125,
    ],
  ];
  for (const [a, b, t, pt, w, pw] of cases) {
    const tt = pairedTTest(a, b);
    near(tt.statistic, t, 1e-9);
    near(tt.pValue, pt, 1e-9);
    const wr = wilcoxonSignedRank(a, b);
    assert.equal(wr.statistic, w);
    near(wr.pValue, pw, 1e-12);
  }
});

test('tied absolute differences share their average rank and the p-value stays exact', () => {
  // |d| = 0.01 three times (ranks 2, 3, 4 -> 3 each): 16 of the 64 sign patterns are as extreme.
  // scipy's exact mode gives 0.21875 here, from the distribution of the untied ranks 1..6.
  const w = wilcoxonSignedRank(
    [0.71, 0.69, 0.74, 0.7, 0.72, 0.68],
    [0.7, 0.7, 0.71, 0.66, 0.71, 0.69],
  );
  assert.equal(w.statistic, 4);
  near(w.pValue, 0.25, 1e-12);
});

test('with 5 seeds the signed-rank test cannot go below 0.0625; zeros are dropped', () => {
  const a = [0.9, 0.8, 0.85, 0.95, 0.7];
  const b = a.map((v) => v - 0.1);
  near(wilcoxonSignedRank(a, b).pValue, 0.0625);
  const same = wilcoxonSignedRank([1, 2, 3], [1, 2, 3]);
  assert.equal(same.pValue, 1);
  assert.ok(Number.isNaN(pairedTTest([1, 2, 3], [1, 2, 3]).pValue));
  // Only one non-zero difference remains: p = 1 (2 of 2 sign patterns are as extreme).
  assert.equal(wilcoxonSignedRank([1, 2, 3], [1, 2, 2]).pValue, 1);
});

test('unpaired input is named', () => {
  assert.throws(
    () => pairedTTest([1, 2], [1]),
    (e: unknown) =>
      e instanceof ArtstyleError && /b: expected 2 paired values, got 1/.test(e.message),
  );
  assert.throws(() => wilcoxonSignedRank([1], [0]), /at least 2 pairs/);
});
