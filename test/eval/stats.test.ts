import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erfc, mcnemar, normalQuantile, wilsonInterval } from '../../lib/eval/stats';
import { ArtstyleError } from '../../lib/util/errors';

// Reference values from scipy 1.10 (stats.norm, stats.binom, stats.chi2, math.erfc) with
// statsmodels' formulas for the Wilson interval and McNemar's test.
const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b} (tolerance ${tol})`);

test('erfc and the normal quantile match scipy', () => {
  close(erfc(0.3), 0.6713732405408726, 1e-13);
  close(erfc(2.5), 0.0004069520174449589, 1e-15);
  close(erfc(-1.2), 1.9103139782296354, 1e-13);
  close(normalQuantile(0.975), 1.959963984540054, 1e-12);
  close(normalQuantile(0.001), -3.090232306167813, 1e-12);
});

test('wilsonInterval matches the Wilson score formula', () => {
  const a = wilsonInterval(8, 10);
  close(a.lower, 0.49016247153664183);
  close(a.upper, 0.9433178485456247);
  close(a.estimate, 0.8);
  const b = wilsonInterval(0, 20);
  close(b.lower, 0);
  close(b.upper, 0.16112515805281938);
  const c = wilsonInterval(431, 802, 0.9);
  close(c.lower, 0.508369652392185);
  close(c.upper, 0.566191782517854);
  assert.throws(
    () => wilsonInterval(3, 0),
    (e: unknown) => e instanceof ArtstyleError && e.subject === 'n',
  );
  assert.throws(() => wilsonInterval(11, 10), /successes: expected an integer in 0..10/);
});

test('mcnemar: exact binomial and continuity-corrected chi-square on discordant pairs', () => {
  // 10 images only A got right, 2 only B, plus 5 both right and 3 both wrong.
  const a: boolean[] = [];
  const b: boolean[] = [];
  const push = (x: boolean, y: boolean, k: number) => {
    for (let i = 0; i < k; i++) {
      a.push(x);
      b.push(y);
    }
  };
  push(true, false, 10);
  push(false, true, 2);
  push(true, true, 5);
  push(false, false, 3);
  const r = mcnemar(a, b);
  assert.deepEqual([r.onlyA, r.onlyB, r.bothRight, r.bothWrong, r.n], [10, 2, 5, 3, 20]);
  close(r.exactP, 0.03857421875, 1e-12);
  close(r.chiSquare, 49 / 12, 1e-12);
  close(r.chiSquareP, 0.04330814281079206, 1e-10);
  // Larger counts: 45 vs 30 discordant.
  const big = mcnemar(
    [...Array(45).fill(1), ...Array(30).fill(0)],
    [...Array(45).fill(0), ...Array(30).fill(1)],
  );
  close(big.exactP, 0.10534226887460482, 1e-10);
  close(big.chiSquareP, 0.10596880912720207, 1e-10);
  // Symmetric in A and B, and no discordant pairs means no evidence at all.
  const swapped = mcnemar(b, a);
  close(swapped.exactP, r.exactP);
  const same = mcnemar([1, 0, 1], [1, 0, 1]);
  assert.equal(same.exactP, 1);
  assert.equal(same.chiSquareP, 1);
  assert.throws(() => mcnemar([1, 0], [1]), /correctB: expected one entry per image/);
});
