import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildClassifier, buildXception, preprocessInput } from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';

before(async () => {
  await tf.setBackend('cpu');
});

describe('buildClassifier', () => {
  it('puts GAP -> Dense(relu, L2) -> Dropout -> Dense(softmax) on the base, sharing its layers', () => {
    const base = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    const model = buildClassifier(base, { numClasses: 5, seed: 3 });
    const head = model.layers.slice(-4);
    assert.deepEqual(
      head.map((l) => [l.name, l.getClassName()]),
      [
        ['avg_pool', 'GlobalAveragePooling2D'],
        ['fc1', 'Dense'],
        ['dropout', 'SeededDropout'],
        ['predictions', 'Dense'],
      ],
    );
    const fc1 = head[1]!.getConfig() as Record<string, unknown>;
    assert.equal(fc1['units'], 256);
    assert.equal(fc1['activation'], 'relu');
    assert.deepEqual(fc1['kernelRegularizer'], {
      className: 'L1L2',
      config: { l1: 0, l2: 0.0075 },
    });
    assert.equal((head[2]!.getConfig() as Record<string, unknown>)['rate'], 0.5);
    assert.equal((head[3]!.getConfig() as Record<string, unknown>)['activation'], 'softmax');
    const features = base.outputs[0]!.shape[3]!;
    assert.equal(model.countParams() - base.countParams(), features * 256 + 256 + 256 * 5 + 5);
    assert.equal(model.getLayer('block1_conv1'), base.getLayer('block1_conv1'));
    const p = model.predict(tf.zeros([2, 71, 71, 3])) as tf.Tensor;
    const sums = p.sum(1).dataSync();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
    const penalties = model.getLayer('fc1').losses;
    assert.equal(penalties.length, 1, 'the L2 penalty is a layer loss');
    const w = model.getLayer('fc1').getWeights()[0]!;
    const expected = 0.0075 * w.square().sum().dataSync()[0]!;
    assert.ok(Math.abs(penalties[0]!().dataSync()[0]! - expected) < 1e-6 * Math.max(1, expected));
  });

  it('validates its options', () => {
    const base = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    assert.throws(
      () => buildClassifier(base, { numClasses: 1, seed: 1 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'numClasses',
    );
    assert.throws(
      () => buildClassifier(base, { numClasses: 3, seed: 1, denseUnits: 0 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'denseUnits',
    );
  });
});

describe('preprocessInput', () => {
  const img = tf.tensor4d([0, 127.5, 255, 10, 20, 30], [1, 1, 2, 3]);
  it('xception scales 0..255 to [-1, 1]', () => {
    const y = preprocessInput('xception', img).dataSync();
    assert.deepEqual(
      Array.from(y).map((v) => +v.toFixed(5)),
      [-1, 0, 1, -0.92157, -0.84314, -0.76471],
    );
  });
  it('resnet50 is caffe mode: RGB -> BGR minus the ImageNet means, no scaling', () => {
    const y = Array.from(preprocessInput('resnet50', img).dataSync()).map((v) => +v.toFixed(3));
    assert.deepEqual(
      y,
      [255 - 103.939, 127.5 - 116.779, 0 - 123.68, 30 - 103.939, 20 - 116.779, 10 - 123.68].map(
        (v) => +v.toFixed(3),
      ),
    );
  });
  it('rejects non-RGB input and unknown kinds, naming the argument', () => {
    assert.throws(
      () => preprocessInput('xception', tf.zeros([1, 2, 2, 1]) as tf.Tensor4D),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'x',
    );
    assert.throws(
      () => preprocessInput('vgg' as 'xception', img),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'kind',
    );
  });
});
