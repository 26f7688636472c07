import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  GradientBoostedNetwork,
  halfSquaredError,
  LinearOutputNetwork,
  sigmoid,
} from '../../lib/mlp/gbnn';
import { zeros } from '../../lib/mlp/matrix';
import { binaryCrossEntropy } from '../../lib/mlp/snn';
import { ArtstyleError } from '../../lib/util/errors';
import { Rng } from '../../lib/util/rng';
import { gradientCheck, randomMat } from './gradcheck';

test('a linear-output member computes the exact gradient of the half squared error', () => {
  const rng = new Rng(11);
  const X = randomMat(7, 5, rng);
  const R = randomMat(7, 3, rng, 0.4); // pseudo-residuals: either sign
  const member = new LinearOutputNetwork({ hiddenSizes: [6, 4], weightScale: 0.7, seed: 3 });
  member.init(5, 3);
  const out = member.forward(X);
  assert.equal(out.A3, out.Z3, 'linear output');
  assert.ok(out.A3.data.some((v) => v < 0) && out.A3.data.some((v) => v > 1));
  assert.ok(gradientCheck(member, X, R, 1e-6, halfSquaredError) < 1e-6);
});

test('the pseudo-residuals are minus n times the gradient of the mean BCE in logit space', () => {
  const rng = new Rng(5);
  const F = randomMat(4, 3, rng, 2);
  const Y = zeros(4, 3);
  Y.data.set([1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1]);
  const r = GradientBoostedNetwork.pseudoResiduals(F, Y);
  const bce = (): number => {
    // Without the seed's 1e-10, which shifts the derivative by ~1e-10.
    let s = 0;
    for (let i = 0; i < F.data.length; i++) {
      const p = sigmoid(F.data[i] as number);
      const y = Y.data[i] as number;
      s += y * Math.log(p) + (1 - y) * Math.log(1 - p);
    }
    return -s / F.rows;
  };
  const h = 1e-6;
  for (let i = 0; i < F.data.length; i++) {
    const saved = F.data[i] as number;
    F.data[i] = saved + h;
    const plus = bce();
    F.data[i] = saved - h;
    const minus = bce();
    F.data[i] = saved;
    const grad = (plus - minus) / (2 * h);
    assert.ok(Math.abs(-F.rows * grad - (r.data[i] as number)) < 1e-7, `entry ${i}`);
  }
});

function toyData(): { X: ReturnType<typeof randomMat>; Y: ReturnType<typeof zeros> } {
  const rng = new Rng(8);
  const X = randomMat(80, 4, rng);
  const Y = zeros(80, 3);
  for (let i = 0; i < 80; i++) {
    const a = X.data[i * 4] as number;
    const b = X.data[i * 4 + 1] as number;
    Y.data[i * 3] = a > 0 ? 1 : 0;
    Y.data[i * 3 + 1] = a * b > 0 ? 1 : 0; // needs the hidden layers
    Y.data[i * 3 + 2] = i % 4 === 0 ? 1 : 0; // a rare genre, unrelated to X
  }
  return { X, Y };
}

test('stage 0 is the prior logit; every member lowers the training loss; stages add nu h_m', () => {
  const { X, Y } = toyData();
  const gb = new GradientBoostedNetwork({
    nModels: 4,
    shrinkage: 0.5,
    hiddenSizes: [16, 16],
    weightScale: 0.3,
    learningRate: 0.05,
    seed: 1,
  });
  const losses = gb.fit(X, Y, { epochs: 15, batchSize: 16 });
  assert.equal(losses.length, 5);
  assert.ok(Math.abs((gb.baseLogits[2] as number) - Math.log(0.25 / 0.75)) < 1e-12);
  // The constant model's loss is the prior's entropy, summed over genres.
  const F0 = gb.stageLogits(X)[0]!;
  assert.ok(
    Math.abs(
      (losses[0] as number) - binaryCrossEntropy(GradientBoostedNetwork.probabilities(F0), Y),
    ) < 1e-12,
  );
  for (let m = 1; m < losses.length; m++)
    assert.ok((losses[m] as number) < (losses[m - 1] as number), `member ${m} lowers the loss`);
  const stages = gb.stageLogits(X);
  assert.equal(stages.length, 5);
  const h2 = gb.members[1]!.predictMat(X);
  for (let i = 0; i < 10; i++)
    assert.ok(
      Math.abs(
        (stages[2]!.data[i] as number) -
          (stages[1]!.data[i] as number) -
          0.5 * gb.steps[1]![i % 3]! * (h2.data[i] as number),
      ) < 1e-12,
    );
  const p = gb.predictMat(X);
  assert.ok(Math.abs((p.data[3] as number) - sigmoid(stages[4]!.data[3] as number)) < 1e-15);
  assert.equal(gb.histories.length, 4);
  assert.equal(gb.histories[0]!.length, 15);
});

test('the line search is one Newton step per genre along the member', () => {
  const { X, Y } = toyData();
  const gb = new GradientBoostedNetwork({
    nModels: 1,
    hiddenSizes: [8, 8],
    weightScale: 0.3,
    seed: 2,
  });
  gb.fit(X, Y, { epochs: 2 });
  const F = gb.stageLogits(X)[0]!;
  const r = GradientBoostedNetwork.pseudoResiduals(F, Y);
  const h = gb.members[0]!.predictMat(X);
  // gamma minimises the second-order expansion of L(F + gamma h): dL/dgamma at gamma is ~0.
  const loss = (gamma: number): number => {
    const G = { rows: F.rows, cols: F.cols, data: F.data.slice() };
    for (let i = 0; i < G.data.length; i++) if (i % 3 === 0) G.data[i] += gamma * h.data[i]!;
    return binaryCrossEntropy(GradientBoostedNetwork.probabilities(G), Y);
  };
  const g0 = gb.newtonSteps(F, r, h)[0]!;
  let num = 0;
  let den = 0;
  for (let i = 0; i < 80; i++) {
    const s = sigmoid(F.data[i * 3]!);
    num += r.data[i * 3]! * h.data[i * 3]!;
    den += s * (1 - s) * h.data[i * 3]! ** 2;
  }
  assert.ok(Math.abs(g0 - num / den) < 1e-12);
  assert.ok(loss(g0) < loss(0) && loss(g0) < loss(2 * g0));
  const plain = new GradientBoostedNetwork({ nModels: 1, lineSearch: 'none', hiddenSizes: [8, 8] });
  assert.deepEqual(plain.newtonSteps(F, r, h), [1, 1, 1]);
});

test('the same seed gives the same ensemble', () => {
  const { X, Y } = toyData();
  const make = (): GradientBoostedNetwork =>
    new GradientBoostedNetwork({ nModels: 2, hiddenSizes: [8, 8], weightScale: 0.3, seed: 4 });
  const a = make();
  const b = make();
  assert.deepEqual(a.fit(X, Y, { epochs: 3 }), b.fit(X, Y, { epochs: 3 }));
  assert.deepEqual([...a.predictMat(X).data], [...b.predictMat(X).data]);
});

test('bad settings and targets are named', () => {
  const bad = (f: () => unknown, re: RegExp): void =>
    assert.throws(f, (e: unknown) => e instanceof ArtstyleError && re.test(e.message));
  bad(
    () => new GradientBoostedNetwork({ shrinkage: 0 }),
    /shrinkage: expected a value in \(0, 1\]/,
  );
  bad(() => new GradientBoostedNetwork({ nModels: 1.5 }), /nModels/);
  bad(
    () => new GradientBoostedNetwork().fit([[1], [2]], [[0.5], [1]]),
    /Y: expected 0 or 1, got 0.5/,
  );
  bad(() => new GradientBoostedNetwork().predictMat([[1]]), /not fitted/);
});
