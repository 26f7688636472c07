import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { SeededDropout, setDropoutStep } from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';

before(async () => {
  await tf.setBackend('cpu');
});

const ones = (): tf.Tensor => tf.ones([16, 64]);
const run = (layer: SeededDropout, training: boolean): Float32Array =>
  (layer.apply(ones(), { training }) as tf.Tensor).dataSync() as Float32Array;

describe('SeededDropout', () => {
  it('draws the same mask for the same (seed, step), another for another step or seed', () => {
    const a = new SeededDropout({ rate: 0.5, seed: 42 });
    const b = new SeededDropout({ rate: 0.5, seed: 42 });
    a.step = 5;
    b.step = 5;
    const m5 = run(a, true);
    assert.deepEqual(run(b, true), m5);
    assert.equal(a.step, 6, 'a training call advances the step');
    assert.notDeepEqual(run(a, true), m5);
    a.step = 5;
    assert.deepEqual(run(a, true), m5);
    const c = new SeededDropout({ rate: 0.5, seed: 43 });
    c.step = 5;
    assert.notDeepEqual(run(c, true), m5);
  });

  it('keeps about 1 - rate of the units, scaled by 1 / (1 - rate)', () => {
    const d = new SeededDropout({ rate: 0.25, seed: 1 });
    const v = run(d, true);
    const kept = v.filter((x) => x !== 0);
    assert.ok(kept.every((x) => Math.abs(x - 1 / 0.75) < 1e-6));
    const frac = kept.length / v.length;
    assert.ok(frac > 0.68 && frac < 0.82, `kept fraction ${frac}`);
  });

  it('is the identity in inference and does not advance the step', () => {
    const d = new SeededDropout({ rate: 0.5, seed: 1 });
    assert.deepEqual(run(d, false), ones().dataSync());
    assert.equal(d.step, 0);
  });

  it('setDropoutStep pins every SeededDropout of a model; config round-trips', () => {
    const input = tf.input({ shape: [64] });
    const d1 = new SeededDropout({ rate: 0.5, seed: 1, name: 'd1' });
    const d2 = new SeededDropout({ rate: 0.5, seed: 2, name: 'd2' });
    const model = tf.model({
      inputs: input,
      outputs: d2.apply(d1.apply(input)) as tf.SymbolicTensor,
    });
    setDropoutStep(model, 9);
    assert.deepEqual([d1.step, d2.step], [9, 9]);
    const config = d1.getConfig();
    assert.equal(config['rate'], 0.5);
    assert.equal(config['seed'], 1);
    assert.throws(
      () => setDropoutStep(model, -1),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'step',
    );
    assert.throws(
      () => new SeededDropout({ rate: 1, seed: 1 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'rate',
    );
  });
});
