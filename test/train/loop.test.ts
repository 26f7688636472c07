import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../../lib/train/loop';
import { ArtstyleError } from '../../lib/util/errors';
import { scenarioSources, trainScenario } from './scenarios';
import {
  MemorySource,
  buildTinyModel,
  freezeFirst,
  scale,
  setDropoutStep,
  silentLog,
  weightValues,
} from './fixtures';
import { tempDir } from '../tmp';

function tmp(): string {
  return tempDir('artstyle-train-');
}

const SIZE = 8;
function sources() {
  return {
    trainSource: new MemorySource([6, 5, 4], SIZE, 11, true),
    valSource: new MemorySource([3, 3, 2], SIZE, 12, false),
  };
}

test('train runs, learns, and writes history json/csv and a checkpoint', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 1 });
  const r = await train({
    model,
    optimizer: { kind: 'rmsprop', lr: 0.01 },
    ...sources(),
    epochs: 3,
    batchSize: 4,
    outDir: dir,
    seed: 5,
    preprocess: scale,
    setDropoutStep,
    log: null,
  });
  assert.equal(r.status, 'completed');
  assert.equal(r.history.length, 3);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'history.json'), 'utf8'));
  assert.deepEqual(json, r.history);
  const csv = fs.readFileSync(path.join(dir, 'history.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'epoch,loss,accuracy,val_loss,val_accuracy,seconds');
  assert.equal(csv.length, 4);
  assert.equal(Number(csv[3]!.split(',')[3]), r.history[2]!.val_loss);
  for (const h of r.history) {
    assert.ok(h.loss > 0 && Number.isFinite(h.loss));
    assert.ok(h.accuracy >= 0 && h.accuracy <= 1);
  }
  assert.ok(r.history[2]!.loss < r.history[0]!.loss, 'loss decreases on an easy problem');
  assert.ok(fs.existsSync(path.join(dir, 'checkpoint', 'checkpoint.json')));
  assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'lock released');
  model.dispose();
});

function plain(history: { seconds: number }[]): unknown[] {
  return history.map(({ seconds: _s, ...rest }) => rest);
}

test('resume after an interruption ends with the same weights and history, bit for bit', async () => {
  await tf.setBackend('cpu');
  const ref = await trainScenario(tmp());
  const dir = tmp();
  // Interrupt in the middle of epoch 2 through an AbortSignal (Ctrl-C takes the same path).
  const controller = new AbortController();
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 3 });
  const log = silentLog();
  const first = await train({
    model,
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    ...scenarioSources(),
    epochs: 3,
    batchSize: 4,
    outDir: dir,
    seed: 9,
    preprocess: scale,
    setDropoutStep,
    log,
    signal: controller.signal,
    callbacks: {
      onBatchEnd(epoch, batch) {
        if (epoch === 1 && batch === 1) controller.abort();
      },
    },
  });
  assert.equal(first.status, 'interrupted');
  assert.equal(first.epochsCompleted, 1);
  assert.match(
    first.message!,
    /during epoch 2 .*run the same command \(or notebook cell\) again to resume from epoch 2/,
  );
  model.dispose();
  // Resume with a model initialised differently: the checkpoint, not the initialisation, decides.
  const resumed = await trainScenario(dir, undefined, 999);
  assert.equal(resumed.result.status, 'completed');
  assert.equal(resumed.result.resumedFrom, 1);
  assert.deepEqual(plain(resumed.result.history), plain(ref.result.history));
  const a = weightValues(ref.model);
  const b = weightValues(resumed.model);
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i} differs`));
  ref.model.dispose();
  resumed.model.dispose();
});

test('a finished run called again returns at once without training', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  const a = await trainScenario(dir);
  const before = fs.statSync(path.join(dir, 'checkpoint', 'checkpoint.json')).mtimeMs;
  const b = await trainScenario(dir);
  assert.equal(b.result.resumedFrom, 3);
  assert.deepEqual(b.result.history, a.result.history);
  assert.equal(fs.statSync(path.join(dir, 'checkpoint', 'checkpoint.json')).mtimeMs, before);
  a.model.dispose();
  b.model.dispose();
});

test('a NaN loss stops the run naming epoch and batch', async () => {
  await tf.setBackend('cpu');
  const { trainSource, valSource } = sources();
  const poisoned = {
    size: trainSource.size,
    numClasses: trainSource.numClasses,
    classNames: trainSource.classNames,
    imageSize: trainSource.imageSize,
    labels: () => trainSource.labels(),
    async *batches(epoch: number, batchSize: number) {
      let i = 0;
      for await (const b of trainSource.batches(epoch, batchSize)) {
        if (epoch === 1 && i === 1) b.x.fill(NaN);
        i++;
        yield b;
      }
    },
  };
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 1, dropout: false });
  const dir = tmp();
  await assert.rejects(
    train({
      model,
      optimizer: { kind: 'rmsprop', lr: 0.001 },
      trainSource: poisoned,
      valSource,
      epochs: 3,
      batchSize: 4,
      outDir: dir,
      seed: 1,
      log: null,
    }),
    (e: unknown) =>
      e instanceof ArtstyleError &&
      e.code === 'non-finite-loss' &&
      /NaN at epoch 2, batch 2/.test(e.message) &&
      e.message.includes(path.join(dir, 'checkpoint')),
  );
  assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'lock released after the error');
  model.dispose();
});

test('memory stays flat across epochs and nothing leaks after the run', async () => {
  await tf.setBackend('cpu');
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 1 });
  const settings = {
    model,
    optimizer: { kind: 'sgd' as const, lr: 0.01, momentum: 0.9 },
    ...sources(),
    batchSize: 4,
    classWeights: [1, 1.2, 1.5],
    seed: 2,
    preprocess: scale,
    setDropoutStep,
    log: null,
  };
  // A first short run creates tfjs's one-time internals (layer caches, backend constants).
  const warm = tf.memory().numTensors;
  await train({ ...settings, epochs: 1, outDir: tmp() });
  const afterWarm = tf.memory().numTensors;
  assert.ok(afterWarm - warm <= 2, `first run left ${afterWarm - warm} tensors`);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  await train({
    model,
    optimizer: { kind: 'sgd', lr: 0.01, momentum: 0.9 },
    ...sources(),
    epochs: 4,
    batchSize: 4,
    classWeights: [1, 1.2, 1.5],
    outDir: tmp(),
    seed: 2,
    preprocess: scale,
    setDropoutStep,
    log: null,
    callbacks: {
      onEpochEnd() {
        counts.push(tf.memory().numTensors);
      },
    },
  });
  assert.equal(counts.length, 4);
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensor counts per epoch: ${counts}`,
  );
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('class weights multiply the per-sample loss as Keras class_weight (mean over the batch)', async () => {
  await tf.setBackend('cpu');
  const trainSource = new MemorySource([3, 2, 1], 4, 5, false);
  const valSource = new MemorySource([1, 1, 1], 4, 6, false);
  const build = () => {
    const m = tf.sequential();
    m.add(tf.layers.flatten({ inputShape: [4, 4, 3] }));
    m.add(
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
        kernelRegularizer: tf.regularizers.l2({ l2: 0.0075 }),
      }),
    );
    return m;
  };
  const weights = [0.5, 2, 3];
  const model = build();
  // Expected loss of the single batch, computed before the update from the initial weights.
  const x = tf.tensor4d(
    (await trainSource.batches(0, 6)[Symbol.asyncIterator]().next()).value.x,
    [6, 4, 4, 3],
  );
  const probs = (model.predict(tf.div(x, 255)) as tf.Tensor).arraySync() as number[][];
  const labels = Array.from(trainSource.labels());
  const kernel = model.layers[1]!.getWeights()[0]!.dataSync();
  const l2 = 0.0075 * Array.from(kernel).reduce((s, v) => s + v * v, 0);
  const expected = (w: number[] | null) =>
    labels.reduce(
      (s, y, i) =>
        s + (w ? w[y]! : 1) * -Math.log(Math.min(Math.max(probs[i]![y]!, 1e-7), 1 - 1e-7)),
      0,
    ) /
      labels.length +
    l2;
  const run = async (w?: number[]) => {
    const m = build();
    const r = await train({
      model: m,
      optimizer: { kind: 'sgd', lr: 0.01 },
      trainSource,
      valSource,
      epochs: 1,
      batchSize: 6,
      ...(w ? { classWeights: w } : {}),
      outDir: tmp(),
      seed: 1,
      preprocess: (t) => tf.div(t, 255) as tf.Tensor4D,
      log: null,
    });
    m.dispose();
    return r.history[0]!.loss;
  };
  const weighted = await run(weights);
  const unweighted = await run();
  assert.ok(Math.abs(weighted - expected(weights)) < 1e-5, `${weighted} vs ${expected(weights)}`);
  assert.ok(Math.abs(unweighted - expected(null)) < 1e-5, `${unweighted} vs ${expected(null)}`);
  assert.ok(Math.abs(weighted - unweighted) > 1e-3);
  tf.dispose(x);
  model.dispose();
});

test('the frozen part of the network does not change during fine-tuning (BatchNorm included)', async () => {
  await tf.setBackend('cpu');
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 1 });
  freezeFirst(model, 4); // conv, BN, conv, BN
  const frozenBefore = model.layers
    .slice(0, 4)
    .flatMap((l) => l.getWeights().map((w) => w.dataSync().slice()));
  const headBefore = model.layers[5]!.getWeights()[0]!.dataSync().slice();
  await train({
    model,
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    ...sources(),
    epochs: 2,
    batchSize: 4,
    outDir: tmp(),
    seed: 3,
    preprocess: scale,
    setDropoutStep,
    log: null,
  });
  const frozenAfter = model.layers
    .slice(0, 4)
    .flatMap((l) => l.getWeights().map((w) => w.dataSync()));
  assert.equal(frozenAfter.length, 2 + 4 + 2 + 4, 'conv kernel+bias, BN gamma/beta/mean/variance');
  frozenAfter.forEach((w, i) => assert.deepEqual(w, frozenBefore[i], `frozen weight ${i} changed`));
  const headAfter = model.layers[5]!.getWeights()[0]!.dataSync();
  assert.notDeepEqual(headAfter, headBefore, 'the trainable head did change');
  model.dispose();
});

test('invalid arguments are refused before any work', async () => {
  await tf.setBackend('cpu');
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 1 });
  const base = {
    model,
    optimizer: { kind: 'sgd' as const, lr: 0.01 },
    ...sources(),
    epochs: 1,
    batchSize: 4,
    outDir: tmp(),
    seed: 1,
    log: null,
  };
  await assert.rejects(
    train({ ...base, batchSize: 0 }),
    /batchSize: expected an integer >= 1, got 0/,
  );
  await assert.rejects(train({ ...base, epochs: 0 }), /epochs: expected an integer >= 1/);
  await assert.rejects(
    train({ ...base, optimizer: { kind: 'sgd', lr: -1 } }),
    /optimizer.lr: expected a positive learning rate/,
  );
  await assert.rejects(
    train({ ...base, classWeights: [1, 2] }),
    /classWeights: expected one weight per class \(3\)/,
  );
  assert.ok(!fs.existsSync(path.join(base.outDir, 'checkpoint')));
  model.dispose();
});
