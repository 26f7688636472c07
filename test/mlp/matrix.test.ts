import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Matrix } from 'ml-matrix';
import { matmul, matmulAT, matmulBT, toMat, toMatrix, transpose } from '../../lib/mlp/matrix';
import { Rng } from '../../lib/util/rng';
import { randomMat } from './gradcheck';

test('the blocked products agree with ml-matrix on shapes with edges', () => {
  const rng = new Rng(1);
  for (const [m, k, n] of [
    [1, 1, 1],
    [5, 3, 7],
    [8, 9, 4],
    [13, 6, 10],
  ] as const) {
    const a = randomMat(m, k, rng);
    const b = randomMat(k, n, rng);
    const ref = toMatrix(a).mmul(toMatrix(b));
    const check = (got: Matrix): void => {
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) assert.ok(Math.abs(got.get(i, j) - ref.get(i, j)) < 1e-12);
    };
    check(toMatrix(matmul(a, b)));
    check(toMatrix(matmulBT(a, transpose(b))));
    check(toMatrix(matmulAT(transpose(a), b)));
  }
});

test('toMat names the argument and the bad cell', () => {
  assert.throws(() => toMat([[1, 2], [3]], 'X'), /X: row 1 has 1 values, expected 2/);
  assert.throws(() => toMat([[1, NaN]], 'Y'), /Y: non-finite value NaN at row 0, column 1/);
  assert.throws(() => matmul(toMat([[1, 2]], 'a'), toMat([[1, 2]], 'b')), /inner dimensions/);
});
