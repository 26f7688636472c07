import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildClassifier,
  buildXception,
  freezeBase,
  freezeBlocks,
  KerasBatchNormalization,
  xceptionBlockOf,
} from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';

before(async () => {
  await tf.setBackend('cpu');
});

const snapshot = (m: tf.LayersModel, layer: string): Float32Array[] =>
  m
    .getLayer(layer)
    .getWeights()
    .map((w) => w.dataSync() as Float32Array);

describe('xceptionBlockOf', () => {
  it('maps Keras names, residual convolutions and adds to their block', () => {
    const cases: [string, number | null][] = [
      ['input_layer', null],
      ['block1_conv1', 1],
      ['block1_conv2_act', 1],
      ['block2_sepconv2_act', 2],
      ['conv2d', 2],
      ['batch_normalization', 2],
      ['add', 2],
      ['conv2d_1', 3],
      ['batch_normalization_1', 3],
      ['conv2d_2', 4],
      ['add_2', 4],
      ['add_3', 5],
      ['block9_sepconv3_bn', 9],
      ['add_10', 12],
      ['conv2d_3', 13],
      ['batch_normalization_3', 13],
      ['add_11', 13],
      ['block14_sepconv2_act', 14],
      ['conv2d_4', null],
      ['add_12', null],
      ['block15_x', null],
      ['avg_pool', null],
      ['predictions', null],
    ];
    for (const [name, block] of cases) assert.equal(xceptionBlockOf(name), block, name);
  });
});

describe('freezeBlocks', () => {
  it('freezes blocks 1..n only; the rest and the head stay trainable', () => {
    const model = buildClassifier(buildXception({ inputSize: 71, widthMultiplier: 0.05 }), {
      numClasses: 3,
      denseUnits: 8,
      seed: 1,
    });
    for (const n of [0, 3, 14]) {
      freezeBlocks(model, n);
      for (const l of model.layers) {
        const b = xceptionBlockOf(l.name);
        assert.equal(l.trainable, b === null || b > n, `${l.name} with n=${n}`);
      }
    }
    freezeBase(model);
    const trainable = model.layers.filter((l) => l.trainable).map((l) => l.name);
    assert.deepEqual(trainable, ['avg_pool', 'fc1', 'dropout', 'predictions']);
    assert.equal(model.trainableWeights.length, 4);
  });

  it('rejects n outside 0..14, naming n', () => {
    const model = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    for (const n of [-1, 15, 2.5, NaN])
      assert.throws(
        () => freezeBlocks(model, n),
        (e: unknown) =>
          e instanceof ArtstyleError && e.subject === 'n' && e.message.includes(String(n)),
      );
  });

  it('a training step leaves frozen blocks (weights, BN statistics, outputs) unchanged and moves the others', async () => {
    const model = buildClassifier(
      buildXception({ inputSize: 71, widthMultiplier: 0.05, seed: 7 }),
      {
        numClasses: 3,
        denseUnits: 8,
        seed: 2,
      },
    );
    freezeBlocks(model, 3);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    // Frozen blocks end at add_1 (block 3's output).
    const frozenOut = tf.model({ inputs: model.inputs, outputs: model.getLayer('add_1').output });
    const x = tf.randomUniform([4, 71, 71, 3], -1, 1, 'float32', 11);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
    const frozen = [
      'block1_conv1',
      'block1_conv1_bn',
      'block2_sepconv1',
      'conv2d',
      'batch_normalization_1',
      'block3_sepconv2_bn',
    ];
    const unfrozen = [
      'block4_sepconv1',
      'block4_sepconv1_bn',
      'conv2d_2',
      'block14_sepconv2_bn',
      'fc1',
    ];
    const before = new Map([...frozen, ...unfrozen].map((n) => [n, snapshot(model, n)]));
    const outBefore = (frozenOut.predict(x) as tf.Tensor).dataSync();
    // In training mode the frozen part already behaves as in inference: BN uses moving statistics.
    const outTraining = (frozenOut.apply(x, { training: true }) as tf.Tensor).dataSync();
    assert.deepEqual(outTraining, outBefore);

    await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });

    for (const n of frozen) assert.deepEqual(snapshot(model, n), before.get(n), `${n} changed`);
    for (const n of unfrozen) {
      const now = snapshot(model, n);
      now.forEach((w, i) =>
        assert.notDeepEqual(w, before.get(n)?.[i], `${n} weight ${i} did not change`),
      );
    }
    // BN weights are [gamma, beta, moving_mean, moving_variance]: frozen statistics stay put.
    assert.equal(model.getLayer('block1_conv1_bn').getWeights().length, 4);
    assert.deepEqual((frozenOut.predict(x) as tf.Tensor).dataSync(), outBefore);
  });

  it('also treats batch norms as frozen when a whole model is set trainable = false (tfjs flags only the weights)', () => {
    const base = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    base.trainable = false;
    const x = tf.randomUniform([2, 71, 71, 3], -1, 1, 'float32', 3);
    const inference = (base.predict(x) as tf.Tensor).dataSync();
    const stats = snapshot(base, 'block7_sepconv2_bn');
    const training = (base.apply(x, { training: true }) as tf.Tensor).dataSync();
    assert.deepEqual(training, inference);
    assert.deepEqual(snapshot(base, 'block7_sepconv2_bn'), stats);
    freezeBlocks(base, 0);
    base.apply(x, { training: true });
    assert.notDeepEqual(
      snapshot(base, 'block7_sepconv2_bn')[2],
      stats[2],
      'unfrozen again, it updates its statistics',
    );
  });

  it('a frozen KerasBatchNormalization normalises with its moving statistics; a trainable one with the batch', () => {
    const bn = new KerasBatchNormalization({ name: 'bn_probe' });
    const x = tf.tensor4d([1, 3, 5, 7], [4, 1, 1, 1]);
    bn.apply(x); // builds: moving mean 0, variance 1
    const trainOut = (bn.apply(x, { training: true }) as tf.Tensor).dataSync();
    assert.ok(
      Math.abs(trainOut[0]! - -1.3416) < 1e-3,
      `batch statistics expected, got ${trainOut[0]}`,
    );
    const meanAfterTrainable = bn.getWeights()[2]!.dataSync()[0]!;
    assert.ok(meanAfterTrainable > 0, 'a trainable BN updates its moving mean');
    bn.trainable = false;
    const statsBefore = bn.getWeights().map((w) => w.dataSync());
    const frozenOut = (bn.apply(x, { training: true }) as tf.Tensor).dataSync();
    const inferOut = (bn.apply(x, { training: false }) as tf.Tensor).dataSync();
    assert.deepEqual(frozenOut, inferOut);
    assert.deepEqual(
      bn.getWeights().map((w) => w.dataSync()),
      statsBefore,
    );
  });
});
