import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AdamNeuralNetwork } from '../../lib/mlp/adam';
import { Mat, zeros } from '../../lib/mlp/matrix';
import { binaryCrossEntropy, Params, SimpleNeuralNetwork } from '../../lib/mlp/snn';
import { Rng } from '../../lib/util/rng';
import { gradientCheck, randomMat } from './gradcheck';

function toyData(n: number, d: number, k: number, seed: number): { X: Mat; Y: Mat } {
  const rng = new Rng(seed);
  const X = randomMat(n, d, rng);
  const Y = zeros(n, k);
  // Label j is on when feature j is positive: learnable, multi-label.
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) Y.data[i * k + j] = (X.data[i * d + j] as number) > 0 ? 1 : 0;
  return { X, Y };
}

test('SNN full backward pass matches central differences (float64, rel err < 1e-5)', () => {
  const { X, Y } = toyData(6, 5, 4, 3);
  // Larger initial weights than the seed's 0.01 so that every layer's gradient is far from 0.
  const net = new SimpleNeuralNetwork({ hiddenSizes: [7, 6], weightScale: 0.7, seed: 5 });
  net.init(5, 4);
  const err = gradientCheck(net, X, Y);
  assert.ok(err < 1e-5, `relative error ${err}`);
  // dW1 and db1 (missing in the seed's listing) are really non-zero.
  const g = net.gradients(X, Y);
  assert.ok(g.W1.data.some((v) => Math.abs(v) > 1e-4));
  assert.ok(g.b1.data.some((v) => Math.abs(v) > 1e-4));
});

test('Adam network computes the same checked gradients', () => {
  const { X, Y } = toyData(5, 4, 3, 8);
  const net = new AdamNeuralNetwork({ hiddenSizes: [6, 5], weightScale: 0.7, seed: 9 });
  net.init(4, 3);
  assert.ok(gradientCheck(net, X, Y) < 1e-5);
});

test('initialisation: seeded N(0,1)*0.01 weights, zero biases, seed defaults', () => {
  const a = new SimpleNeuralNetwork();
  assert.deepEqual(a.hiddenSizes, [512, 256]);
  assert.equal(a.learningRate, 0.01);
  a.init(100, 3);
  const p = a.params as Params;
  assert.equal(p.W1.rows, 100);
  assert.equal(p.W1.cols, 512);
  assert.equal(p.W3.cols, 3);
  assert.ok(p.b2.data.every((v) => v === 0));
  let s2 = 0;
  for (const v of p.W1.data) s2 += v * v;
  const sd = Math.sqrt(s2 / p.W1.data.length);
  assert.ok(Math.abs(sd - 0.01) < 0.0005, `sd ${sd}`);
  const b = new SimpleNeuralNetwork();
  b.init(100, 3);
  assert.deepEqual((b.params as Params).W2.data, p.W2.data);
});

test('SGD step is p - lr * g', () => {
  const net = new SimpleNeuralNetwork({ hiddenSizes: [2, 2], learningRate: 0.1 });
  net.init(2, 1);
  const p = net.params as Params;
  const before = p.W1.data.slice();
  const g = net.gradients(randomMat(3, 2, new Rng(1)), zeros(3, 1));
  g.W1.data.fill(2);
  net.step(g);
  p.W1.data.forEach((v, i) => assert.ok(Math.abs(v - ((before[i] as number) - 0.2)) < 1e-15));
});

test('Adam step matches a hand-computed first and second step', () => {
  const net = new AdamNeuralNetwork({ hiddenSizes: [2, 2], learningRate: 0.01 });
  net.init(2, 1);
  const p = net.params as Params;
  const w0 = p.W3.data[0] as number;
  const g = net.gradients(randomMat(3, 2, new Rng(1)), zeros(3, 1));
  g.W3.data[0] = 0.5;
  net.step(g);
  // t=1: m^ = g, v^ = g^2, step = lr * g / (|g| + eps)
  assert.ok(Math.abs((p.W3.data[0] as number) - (w0 - (0.01 * 0.5) / (0.5 + 1e-8))) < 1e-15);
  const w1 = p.W3.data[0] as number;
  g.W3.data[0] = -1;
  net.step(g);
  const m = 0.9 * 0.1 * 0.5 + 0.1 * -1;
  const v = 0.999 * 0.001 * 0.25 + 0.001 * 1;
  const mHat = m / (1 - 0.9 ** 2);
  const vHat = v / (1 - 0.999 ** 2);
  const expected = w1 - (0.01 * mHat) / (Math.sqrt(vHat) + 1e-8);
  assert.ok(Math.abs((p.W3.data[0] as number) - expected) < 1e-15);
  assert.equal(net.t, 2);
});

test('SNN and Adam fit a learnable toy problem; training is repeatable', () => {
  const { X, Y } = toyData(200, 6, 3, 11);
  const opts = { hiddenSizes: [16, 8] as [number, number], weightScale: 0.3, seed: 2 };
  const h1 = new SimpleNeuralNetwork({ ...opts, learningRate: 0.2 }).fit(X, Y, { epochs: 40 });
  const h2 = new SimpleNeuralNetwork({ ...opts, learningRate: 0.2 }).fit(X, Y, { epochs: 40 });
  assert.deepEqual(h1, h2);
  // An untrained net outputs ~0.5 everywhere: loss 3 ln 2 for 3 outputs.
  const untrained = 3 * Math.LN2;
  assert.ok((h1.at(-1) as number) < 0.6 * untrained, `${h1[0]} -> ${h1.at(-1)}`);
  const adam = new AdamNeuralNetwork({ ...opts, learningRate: 0.01 });
  const ha = adam.fit(X, Y, { epochs: 30, lossOn: 'batches' });
  assert.ok((ha.at(-1) as number) < 0.6 * untrained, `${ha[0]} -> ${ha.at(-1)}`);
  const pred = adam.predict(X);
  assert.equal(pred.rows, 200);
  assert.ok(Math.abs(binaryCrossEntropy(adam.predictMat(X), Y) - (ha.at(-1) as number)) < 0.2);
});

test('fit rejects mismatched shapes, naming the argument', () => {
  const net = new SimpleNeuralNetwork({ hiddenSizes: [2, 2] });
  assert.throws(() => net.fit([[1, 2]], [[1], [0]]), /Y: has 2 rows but X has 1/);
  assert.throws(() => net.predict([[1, 2]]), /not fitted/);
  assert.throws(() => new SimpleNeuralNetwork({ learningRate: -1 }), /learningRate/);
});

test("lossOn 'none' trains the same weights as 'full' and records no loss; a bad value is named", () => {
  const rng = new Rng(8);
  const X = randomMat(40, 6, rng);
  const Y = randomMat(40, 3, rng);
  for (let i = 0; i < Y.data.length; i++) Y.data[i] = (Y.data[i] as number) > 0.5 ? 1 : 0;
  const nets = (['full', 'none'] as const).map((lossOn) => {
    const net = new SimpleNeuralNetwork({ seed: 2, hiddenSizes: [9, 5], weightScale: 0.3 });
    const history = net.fit(X, Y, { epochs: 3, batchSize: 7, lossOn });
    return { net, history };
  });
  assert.equal(nets[0]?.history.length, 3);
  assert.deepEqual(nets[1]?.history, []);
  for (const name of ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'] as const)
    assert.deepEqual(nets[1]?.net.params?.[name].data, nets[0]?.net.params?.[name].data, name);
  assert.throws(
    () => new SimpleNeuralNetwork().fit(X, Y, { lossOn: 'all' as 'full' }),
    /lossOn: expected 'full', 'batches' or 'none', got all/,
  );
});

test('clipGradients gives min(v, max(-v, g)) bit for bit, NaN, -0 and the bounds included', () => {
  const values = [NaN, -0, 0, 0.5, -0.5, 0.49999, -0.50001, 3, -3, Infinity, -Infinity, 1e-300];
  const net = new SimpleNeuralNetwork({ gradientClipValue: 0.5, hiddenSizes: [1, 1] });
  net.init(values.length, 1);
  const grads = Object.fromEntries(
    (['W1', 'b1', 'W2', 'b2', 'W3', 'b3'] as const).map((n) => [n, zeros(1, 1)]),
  ) as Params;
  grads.W1 = { rows: values.length, cols: 1, data: Float64Array.from(values) };
  net.clipGradients(grads);
  values.forEach((x, i) =>
    assert.ok(Object.is(grads.W1.data[i], Math.min(0.5, Math.max(-0.5, x))), `value ${x}`),
  );
});
