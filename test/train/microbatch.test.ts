import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { KerasBatchNormalization } from '../../lib/models/batch-norm';
import { SeededDropout, setDropoutStep } from '../../lib/models/seeded-dropout';
import { makeOptimizer, type OptimizerSpec } from '../../lib/train/loop';
import { microBatchStep, trainingBatchNorms } from '../../lib/train/microbatch';
import { wholeBatchStep, type StepResult, type TrainStep } from '../../lib/train/step';
import type { Batch } from '../../lib/train/types';
import { orderedWeights } from '../../lib/train/weights';
import { MemorySource, scale } from './fixtures';

const SIZE = 8;
const CLASSES = 3;

/** conv -> BN -> relu -> conv -> BN -> relu -> GAP -> dense(l2) -> seeded dropout -> softmax. */
function buildNet(o: { batchNorm: boolean; dropout?: boolean }): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 7 + k });
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(1) })
    .apply(input) as tf.SymbolicTensor;
  if (o.batchNorm) x = new KerasBatchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: init(2) })
    .apply(x) as tf.SymbolicTensor;
  if (o.batchNorm) x = new KerasBatchNormalization({ name: 'bn2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({
      units: 10,
      activation: 'relu',
      kernelInitializer: init(3),
      kernelRegularizer: tf.regularizers.l2({ l2: 0.0075 }),
    })
    .apply(x) as tf.SymbolicTensor;
  if (o.dropout !== false)
    x = new SeededDropout({ rate: 0.5, seed: 3 }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(4) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

async function firstBatch(n: number): Promise<Batch> {
  const source = new MemorySource([4, 4, 3], SIZE, 21, true);
  const it = source.batches(0, n)[Symbol.asyncIterator]();
  return (await it.next()).value as Batch;
}

interface Outcome {
  result: StepResult;
  before: Float32Array[];
  after: Float32Array[];
  names: string[];
  dropoutStep: number;
}

/** One update of a fresh network with `step`; every weight (moving statistics too) before/after. */
async function oneUpdate(
  step: TrainStep,
  o: {
    batchNorm: boolean;
    freeze?: (model: tf.LayersModel) => void;
    classWeights?: number[];
    optimizer?: OptimizerSpec;
    n?: number;
  },
): Promise<Outcome> {
  const model = buildNet({ batchNorm: o.batchNorm });
  o.freeze?.(model);
  const optimizer = makeOptimizer(o.optimizer ?? { kind: 'sgd', lr: 0.05, momentum: 0.9 });
  const weights = orderedWeights(model);
  const variables = weights.filter((w) => w.trainable).map((w) => w.variable.read() as tf.Variable);
  const read = () => weights.map((w) => w.variable.read().dataSync().slice() as Float32Array);
  const classWeights = o.classWeights ? tf.tensor1d(o.classWeights) : null;
  setDropoutStep(model, 5);
  const before = read();
  const batch = await firstBatch(o.n ?? 11);
  // Two updates, so that the optimizer's slots (momentum, mean squares) are checked too.
  await step(batch, {
    model,
    optimizer,
    variables,
    numClasses: CLASSES,
    classWeights,
    preprocess: scale,
  });
  setDropoutStep(model, 6);
  const result = await step(batch, {
    model,
    optimizer,
    variables,
    numClasses: CLASSES,
    classWeights,
    preprocess: scale,
  });
  const after = read();
  const dropoutStep = (model.layers.find((l) => l instanceof SeededDropout) as SeededDropout).step;
  classWeights?.dispose();
  optimizer.dispose();
  model.dispose();
  return { result, before, after, names: weights.map((w) => w.name), dropoutStep };
}

/** Largest |a - b| over all weights, and the largest update |after - before| of `a`. */
function compare(a: Outcome, b: Outcome): { diff: number; update: number; worst: string } {
  let diff = 0;
  let update = 0;
  let worst = '';
  a.after.forEach((w, i) => {
    const v = b.after[i]!;
    const u = a.before[i]!;
    for (let j = 0; j < w.length; j++) {
      const d = Math.abs(w[j]! - v[j]!);
      if (d > diff) {
        diff = d;
        worst = a.names[i]!;
      }
      update = Math.max(update, Math.abs(w[j]! - u[j]!));
    }
  });
  return { diff, update, worst };
}

test('micro-batches of 4 (uneven last one), no BN: the update equals the whole batch update', async () => {
  await tf.setBackend('cpu');
  for (const optimizer of [
    { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    { kind: 'rmsprop', lr: 0.01 },
  ] as OptimizerSpec[]) {
    const whole = await oneUpdate(wholeBatchStep, { batchNorm: false, optimizer });
    const micro = await oneUpdate(microBatchStep(4), { batchNorm: false, optimizer });
    const { diff, update, worst } = compare(micro, whole);
    assert.ok(update > 1e-3, `the update is not trivial (${update})`);
    assert.ok(diff < 2e-6, `${optimizer.kind}: weights differ by ${diff} (${worst})`);
    assert.ok(Math.abs(micro.result.loss - whole.result.loss) < 1e-6, 'same batch loss');
    assert.equal(micro.result.correct, whole.result.correct);
    assert.equal(micro.dropoutStep, whole.dropoutStep, 'dropout step advanced once per batch');
  }
});

test('class weights and the regularisation loss are counted as in the whole batch', async () => {
  await tf.setBackend('cpu');
  const classWeights = [0.5, 2, 3];
  const whole = await oneUpdate(wholeBatchStep, { batchNorm: false, classWeights });
  const micro = await oneUpdate(microBatchStep(3), { batchNorm: false, classWeights });
  const plain = await oneUpdate(wholeBatchStep, { batchNorm: false });
  assert.ok(compare(micro, whole).diff < 2e-6, `weighted: ${compare(micro, whole).diff}`);
  assert.ok(Math.abs(micro.result.loss - whole.result.loss) < 1e-6);
  // The weighting matters, so the test above could fail.
  assert.ok(compare(plain, whole).diff > 1e-3);
  assert.ok(Math.abs(plain.result.loss - whole.result.loss) > 1e-3);
  // The regularisation loss (l2 of the dense kernel) is in the loss once, not once per micro-batch:
  // with micro-batches of 1 it would otherwise be counted 11 times.
  const ones = await oneUpdate(microBatchStep(1), { batchNorm: false });
  assert.ok(Math.abs(ones.result.loss - plain.result.loss) < 1e-6, `${ones.result.loss}`);
  assert.ok(compare(ones, plain).diff < 2e-6);
});

test('frozen batch norm (inference mode) is unaffected: same update, moving statistics unchanged', async () => {
  await tf.setBackend('cpu');
  // The first conv and both BN layers frozen (a frozen block, and a BN frozen on its own).
  const freeze = (model: tf.LayersModel): void => {
    for (const i of [1, 2, 5]) model.layers[i]!.trainable = false; // conv1, bn1, bn2
    assert.equal(trainingBatchNorms(model).length, 0, 'no BN layer trains');
  };
  const whole = await oneUpdate(wholeBatchStep, { batchNorm: true, freeze });
  const micro = await oneUpdate(microBatchStep(4), { batchNorm: true, freeze });
  const { diff, update } = compare(micro, whole);
  assert.ok(update > 1e-3, `the update is not trivial (${update})`);
  assert.ok(diff < 2e-6, `weights differ by ${diff}`);
  // The moving statistics of both (frozen) BN layers stay as they were, bit for bit.
  let checked = 0;
  micro.names.forEach((name, i) => {
    if (!/moving/.test(name)) return;
    assert.deepEqual(micro.after[i], micro.before[i], name);
    checked++;
  });
  assert.equal(checked, 4);
});

test('trainable batch norm: ghost statistics per micro-batch, moving averages combined once per batch', async () => {
  await tf.setBackend('cpu');
  const whole = await oneUpdate(wholeBatchStep, { batchNorm: true });
  const micro = await oneUpdate(microBatchStep(4), { batchNorm: true });
  const wholeAgain = await oneUpdate(wholeBatchStep, { batchNorm: true });
  const ref = compare(wholeAgain, whole);
  assert.equal(ref.diff, 0, 'the whole-batch step is deterministic');
  // The first BN's input does not depend on earlier normalisation, so the combination of its
  // micro-batch statistics is exact on the first update: after one update compare against a
  // one-update whole batch run.
  const one = async (step: TrainStep) => {
    const model = buildNet({ batchNorm: true });
    const optimizer = makeOptimizer({ kind: 'sgd', lr: 0.05 });
    const weights = orderedWeights(model);
    const variables = weights
      .filter((w) => w.trainable)
      .map((w) => w.variable.read() as tf.Variable);
    await step(await firstBatch(11), {
      model,
      optimizer,
      variables,
      numClasses: CLASSES,
      classWeights: null,
      preprocess: scale,
    });
    const stats = weights
      .filter((w) => /bn1.*moving/.test(w.name))
      .map((w) => w.variable.read().dataSync().slice());
    optimizer.dispose();
    model.dispose();
    return stats;
  };
  const [mW, vW] = await one(wholeBatchStep);
  const [mM, vM] = await one(microBatchStep(4));
  for (let j = 0; j < mW!.length; j++) {
    assert.ok(Math.abs(mW![j]! - mM![j]!) < 1e-6, `moving mean ${j}: ${mW![j]} vs ${mM![j]}`);
    assert.ok(Math.abs(vW![j]! - vM![j]!) < 1e-5, `moving variance ${j}: ${vW![j]} vs ${vM![j]}`);
  }
  // The update itself is an approximation (ghost batch norm): it moves, within the bound that
  // the README documents for this network (measured: see the message).
  const { diff, update } = compare(micro, whole);
  assert.ok(diff > 1e-6, 'ghost batch norm is not exact (else this test proves nothing)');
  // Measured: 0.018 against an update of 0.036 (micro-batches of 4 images of 3 very different
  // classes, two updates); the bound is the size of the update itself.
  assert.ok(diff < update, `ghost BN moved the weights by ${diff}; the update is ${update}`);
});

test('a batch no larger than the micro-batch goes through the whole-batch step bit for bit', async () => {
  await tf.setBackend('cpu');
  const whole = await oneUpdate(wholeBatchStep, { batchNorm: true });
  const same = await oneUpdate(microBatchStep(11), { batchNorm: true });
  assert.equal(compare(same, whole).diff, 0);
  assert.equal(same.result.loss, whole.result.loss);
  assert.throws(() => microBatchStep(0), /microBatch: expected an integer >= 1/);
});

test('a micro-batched step leaves no tensors behind', async () => {
  await tf.setBackend('cpu');
  const count = async (step: TrainStep): Promise<number> => {
    const before = tf.memory().numTensors;
    await oneUpdate(step, { batchNorm: true });
    return tf.memory().numTensors - before;
  };
  // What the fixture itself keeps (tfjs's optimizer scalars) is the same for both steps.
  assert.equal(await count(microBatchStep(4)), await count(wholeBatchStep));
});
