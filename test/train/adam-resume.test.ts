import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readCheckpoint, restoreAdamPowers } from '../../lib/train/checkpoint';
import { train } from '../../lib/train/loop';
import { buildTinyModel, scale, setDropoutStep } from './fixtures';
import { scenarioSources, SIZE } from './scenarios';
import { tempDir } from '../tmp';

/**
 * Resume is exact with Adam too. tfjs's Adam keeps beta^t as a running float32 product, but its
 * setWeights recomputes it with pow, which differs in the last bits from the second step on; the
 * checkpoint restore redoes the product (lib/train/checkpoint.ts restoreOptimizer). Four steps an
 * epoch: the run resumes after step 8, where pow(0.9, 9) is not the float32 product.
 */
async function adamRun(outDir: string, abort?: AbortController): Promise<string> {
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 3 });
  const r = await train({
    model,
    optimizer: { kind: 'adam', lr: 1e-3 },
    ...scenarioSources(),
    epochs: 4,
    batchSize: 4,
    outDir,
    seed: 9,
    preprocess: scale,
    setDropoutStep,
    log: null,
    handleSigint: false,
    ...(abort ? { signal: abort.signal } : {}),
    callbacks: {
      onBatchEnd(epoch, batch) {
        if (abort && epoch === 2 && batch === 1) abort.abort();
      },
    },
  });
  model.dispose();
  return r.status;
}

test('an Adam run interrupted and resumed ends with the weights and moments of an uninterrupted one', async () => {
  await tf.setBackend('cpu');
  const ref = tempDir('artstyle-adam-');
  assert.equal(await adamRun(ref), 'completed');
  const dir = tempDir('artstyle-adam-');
  assert.equal(await adamRun(dir, new AbortController()), 'interrupted');
  assert.equal(await adamRun(dir), 'completed');
  const a = readCheckpoint(path.join(ref, 'checkpoint'))!;
  const b = readCheckpoint(path.join(dir, 'checkpoint'))!;
  assert.equal(b.manifest.step, a.manifest.step);
  assert.ok(a.data.equals(b.data), 'weights and optimizer state identical');
});

test('a restored Adam has the running beta powers of the original, and makes the same next step', async () => {
  await tf.setBackend('cpu');
  const v0 = [0.3, -1.2, 2.5, 0.01];
  const loss = (v: tf.Variable) => () =>
    tf.sum(tf.mul(tf.square(v), tf.tensor1d([1, 3, 0.5, 7]))) as tf.Scalar;
  const a = tf.variable(tf.tensor1d(v0));
  const adam = tf.train.adam(1e-2, 0.9, 0.999, 1e-7);
  for (let i = 0; i < 8; i++) adam.minimize(loss(a), false, [a]);
  const b = tf.variable(a.clone());
  const restored = tf.train.adam(1e-2, 0.9, 0.999, 1e-7);
  // The slot variables are matched by position: give the moments the new variable's name.
  const saved = (await adam.getWeights()).map((w, i) =>
    i === 0 ? w : { ...w, name: w.name.replace(a.name, b.name) },
  );
  await restored.setWeights(saved);
  const acc = (o: tf.Optimizer) =>
    (o as unknown as { accBeta1: tf.Variable }).accBeta1.dataSync()[0];
  assert.notEqual(acc(restored), acc(adam), 'tfjs setWeights alone: pow, not the running product');
  restoreAdamPowers(restored);
  assert.equal(acc(restored), acc(adam));
  adam.minimize(loss(a), false, [a]);
  restored.minimize(loss(b), false, [b]);
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  tf.dispose([a, b]);
  adam.dispose();
  restored.dispose();
});
