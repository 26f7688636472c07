import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BoostedNeuralNetwork } from '../../lib/mlp/bnn';
import { zeros } from '../../lib/mlp/matrix';
import { SimpleNeuralNetwork } from '../../lib/mlp/snn';
import { Rng } from '../../lib/util/rng';
import { gradientCheck, randomMat } from './gradcheck';

test('a BNN member computes the exact (unclipped) gradient on residual targets', () => {
  const rng = new Rng(4);
  const X = randomMat(6, 5, rng);
  // Residual targets are small and of either sign.
  const R = randomMat(6, 3, rng, 0.3);
  const member = new SimpleNeuralNetwork({
    hiddenSizes: [7, 6],
    weightScale: 0.7,
    seed: 1,
    gradientClipValue: 0.5,
  });
  member.init(5, 3);
  assert.ok(gradientCheck(member, X, R) < 1e-5);
});

test('clipping bounds weight gradients to [-0.5, 0.5] and leaves bias gradients alone', () => {
  const member = new SimpleNeuralNetwork({ hiddenSizes: [3, 3], gradientClipValue: 0.5 });
  member.init(2, 2);
  const g = member.gradients(randomMat(4, 2, new Rng(1)), zeros(4, 2));
  g.W1.data.set([2, -3, 0.25, -0.5, 0.7, -0.1]);
  g.b1.data.set([4, -4, 0.1]);
  member.clipGradients(g);
  assert.deepEqual([...g.W1.data], [0.5, -0.5, 0.25, -0.5, 0.5, -0.1]);
  assert.deepEqual([...g.b1.data], [4, -4, 0.1]);
});

test('BNN trains members on residuals, predicts their sum, clips it for metrics', () => {
  const rng = new Rng(7);
  const X = randomMat(60, 4, rng);
  const Y = zeros(60, 2);
  for (let i = 0; i < 60; i++) {
    Y.data[i * 2] = (X.data[i * 4] as number) > 0 ? 1 : 0;
    Y.data[i * 2 + 1] = 1;
  }
  const bnn = new BoostedNeuralNetwork({
    nModels: 3,
    hiddenSizes: [8, 8],
    weightScale: 0.3,
    learningRate: 0.1,
  });
  const history = bnn.fit(X, Y, { epochs: 4 });
  assert.equal(bnn.members.length, 3);
  assert.equal(history.length, 12);
  assert.equal(bnn.stoppedEarly, false);
  const raw = bnn.predictRaw(X);
  let sum = 0;
  for (const m of bnn.members) sum += m.predict(X).get(5, 1);
  assert.ok(Math.abs(raw.get(5, 1) - sum) < 1e-12);
  const clipped = bnn.predict(X);
  for (let i = 0; i < 60; i++)
    for (let j = 0; j < 2; j++) {
      assert.ok(clipped.get(i, j) >= 0 && clipped.get(i, j) <= 1);
      assert.equal(clipped.get(i, j), Math.min(1, raw.get(i, j)));
    }
  // The residual norms after the first member are those of Y - f1(X).
  const f1 = bnn.members[0]!.predict(X);
  let n0 = 0;
  for (let i = 0; i < 60; i++) n0 += ((Y.data[i * 2] as number) - f1.get(i, 0)) ** 2;
  assert.ok(Math.abs((bnn.residualNorms[0]![0] as number) - Math.sqrt(n0)) < 1e-9);
});

test('BNN stops once every residual norm is under the threshold', () => {
  const X = randomMat(10, 3, new Rng(2));
  const Y = zeros(10, 2); // residual norm of a 0-target after one member is tiny but not < 1e-3
  const bnn = new BoostedNeuralNetwork({ nModels: 4, hiddenSizes: [4, 4], residualThreshold: 10 });
  bnn.fit(X, Y, { epochs: 1 });
  assert.equal(bnn.members.length, 1);
  assert.equal(bnn.stoppedEarly, true);
});
