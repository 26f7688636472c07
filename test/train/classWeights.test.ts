import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedClassWeights } from '../../lib/train/classWeights';
import { ArtstyleError } from '../../lib/util/errors';

test("balancedClassWeights equals sklearn compute_class_weight('balanced') on a known count vector", () => {
  const counts = [250, 180, 120, 300, 90, 210, 160, 200, 190, 60, 110, 150];
  const labels = counts.flatMap((c, i) => Array<number>(c).fill(i));
  // sklearn 1.2: compute_class_weight('balanced', classes=np.arange(12), y=y)
  const expected = [
    0.6733333333333333, 0.9351851851851852, 1.4027777777777777, 0.5611111111111111,
    1.8703703703703705, 0.8015873015873016, 1.0520833333333333, 0.8416666666666667,
    0.8859649122807017, 2.8055555555555554, 1.5303030303030303, 1.1222222222222222,
  ];
  const w = balancedClassWeights(Int32Array.from(labels), 12);
  w.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-15, `class ${i}: ${v}`));
  // Each class then carries the same total weight: n_samples / n_classes.
  counts.forEach((c, i) => assert.ok(Math.abs(c * w[i]! - labels.length / 12) < 1e-9));
});

test('a class with no samples is an error naming it', () => {
  assert.throws(
    () => balancedClassWeights([0, 0, 2], 3, ['Baroque', 'Rococo', 'Realism']),
    (e: unknown) =>
      e instanceof ArtstyleError && e.code === 'empty-class' && /1 \(Rococo\)/.test(e.message),
  );
  assert.throws(() => balancedClassWeights([0, 3], 3), /labels\[1\] = 3 is not a class index/);
});
