import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildResNet50, buildXception, xceptionBlockOf } from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';

before(async () => {
  await tf.setBackend('cpu');
});

const names = (m: tf.LayersModel): string[] => m.layers.map((l) => l.name);
const config = (m: tf.LayersModel, name: string): Record<string, unknown> =>
  m.getLayer(name).getConfig() as Record<string, unknown>;

describe('buildXception', () => {
  const full = buildXception();

  it('has exactly the parameter count of Keras Xception without top', () => {
    assert.equal(full.countParams(), 20_861_480);
    assert.equal(full.layers.length, 132);
    assert.deepEqual(full.outputs[0]?.shape, [null, 10, 10, 2048]);
  });

  it("orders its layers as Keras does (the order of Keras's weight files)", () => {
    assert.deepEqual(names(full).slice(7, 16), [
      'block2_sepconv1',
      'block2_sepconv1_bn',
      'block2_sepconv2_act',
      'block2_sepconv2',
      'block2_sepconv2_bn',
      'conv2d',
      'block2_pool',
      'batch_normalization',
      'add',
    ]);
    assert.deepEqual(names(full).slice(-6), [
      'block14_sepconv1',
      'block14_sepconv1_bn',
      'block14_sepconv1_act',
      'block14_sepconv2',
      'block14_sepconv2_bn',
      'block14_sepconv2_act',
    ]);
  });

  it('gives each of the 14 blocks the layers Keras puts in it', () => {
    const byBlock = new Map<number, string[]>();
    for (const n of names(full)) {
      const b = xceptionBlockOf(n);
      if (b === null) {
        assert.equal(n, 'input_layer');
        continue;
      }
      byBlock.set(b, [...(byBlock.get(b) ?? []), n]);
    }
    assert.deepEqual(
      [...byBlock.keys()].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    );
    const counts = [...byBlock.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v.length);
    assert.deepEqual(counts, [6, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 6]);
    assert.deepEqual(byBlock.get(1), [
      'block1_conv1',
      'block1_conv1_bn',
      'block1_conv1_act',
      'block1_conv2',
      'block1_conv2_bn',
      'block1_conv2_act',
    ]);
    assert.ok(
      byBlock.get(3)?.includes('conv2d_1') && byBlock.get(3)?.includes('batch_normalization_1'),
    );
    assert.ok(byBlock.get(4)?.includes('conv2d_2') && byBlock.get(4)?.includes('add_2'));
    for (let b = 5; b <= 12; b++) {
      const blockNames = byBlock.get(b) ?? [];
      for (const s of ['sepconv1_act', 'sepconv1', 'sepconv2_bn', 'sepconv3', 'sepconv3_bn'])
        assert.ok(blockNames.includes(`block${b}_${s}`), `block${b}_${s}`);
      assert.ok(blockNames.includes(`add_${b - 2}`));
    }
    assert.deepEqual(
      byBlock.get(13)?.filter((n) => !n.startsWith('block13')),
      ['conv2d_3', 'batch_normalization_3', 'add_11'],
    );
  });

  it('uses Keras hyper-parameters (strides, padding, biases, BN epsilon 1e-3)', () => {
    const c1 = config(full, 'block1_conv1');
    assert.deepEqual(
      [c1['strides'], c1['padding'], c1['useBias'], c1['filters']],
      [[2, 2], 'valid', false, 32],
    );
    const r = config(full, 'conv2d_3');
    assert.deepEqual(
      [r['kernelSize'], r['strides'], r['padding'], r['filters']],
      [[1, 1], [2, 2], 'same', 1024],
    );
    const s = config(full, 'block13_sepconv2');
    assert.deepEqual([s['padding'], s['useBias'], s['filters']], ['same', false, 1024]);
    assert.deepEqual(
      full.getLayer('block13_sepconv2').weights.map((w) => w.shape),
      [
        [3, 3, 728, 1],
        [1, 1, 728, 1024],
      ],
    );
    const p = config(full, 'block13_pool');
    assert.deepEqual([p['poolSize'], p['strides'], p['padding']], [[3, 3], [2, 2], 'same']);
    for (const l of full.layers) {
      if (l.getClassName() === 'KerasBatchNormalization') {
        assert.equal((l.getConfig() as Record<string, unknown>)['epsilon'], 1e-3, l.name);
        assert.equal((l.getConfig() as Record<string, unknown>)['momentum'], 0.99, l.name);
      }
    }
  });

  it('builds reduced models with the same blocks and names, and runs them', () => {
    const small = buildXception({ inputSize: 96, widthMultiplier: 0.25 });
    assert.deepEqual(names(small), names(full));
    assert.equal(small.getLayer('block14_sepconv2').outputShape[3], 512);
    assert.equal(small.getLayer('block4_sepconv1').outputShape[3], 184); // 728/4 = 182 -> 184
    const y = small.predict(tf.zeros([1, 96, 96, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 3, 3, 512]);
    y.dispose();
    const tiny = buildXception({ inputSize: 71, widthMultiplier: 0.01 });
    assert.equal(tiny.getLayer('block1_conv1').outputShape[3], 8);
  });

  it('is seeded: same seed, same initial weights; other seed, other weights', () => {
    const w = (seed: number): Float32Array =>
      buildXception({ inputSize: 71, widthMultiplier: 0.05, seed })
        .getLayer('block5_sepconv2')
        .getWeights()[0]!
        .dataSync() as Float32Array;
    assert.deepEqual(w(3), w(3));
    assert.notDeepEqual(w(3), w(4));
  });

  it('rejects input sizes below 71 and bad multipliers, naming the argument', () => {
    assert.throws(
      () => buildXception({ inputSize: 70 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'inputSize',
    );
    assert.throws(
      () => buildXception({ widthMultiplier: 0 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'widthMultiplier',
    );
  });
});

describe('buildResNet50', () => {
  const full = buildResNet50();

  it('has exactly the parameter count of Keras ResNet50 without top', () => {
    assert.equal(full.countParams(), 23_587_712);
    assert.equal(full.layers.length, 175);
    assert.deepEqual(full.outputs[0]?.shape, [null, 7, 7, 2048]);
  });

  it('has Keras names, paddings, strides and BN epsilon 1.001e-5', () => {
    assert.deepEqual(names(full).slice(0, 19), [
      'input_layer',
      'conv1_pad',
      'conv1_conv',
      'conv1_bn',
      'conv1_relu',
      'pool1_pad',
      'pool1_pool',
      'conv2_block1_1_conv',
      'conv2_block1_1_bn',
      'conv2_block1_1_relu',
      'conv2_block1_2_conv',
      'conv2_block1_2_bn',
      'conv2_block1_2_relu',
      'conv2_block1_0_conv',
      'conv2_block1_3_conv',
      'conv2_block1_0_bn',
      'conv2_block1_3_bn',
      'conv2_block1_add',
      'conv2_block1_out',
    ]);
    assert.deepEqual(config(full, 'conv1_pad')['padding'], [
      [3, 3],
      [3, 3],
    ]);
    assert.deepEqual(config(full, 'pool1_pad')['padding'], [
      [1, 1],
      [1, 1],
    ]);
    const c1 = config(full, 'conv1_conv');
    assert.deepEqual(
      [c1['kernelSize'], c1['strides'], c1['useBias'], c1['padding']],
      [[7, 7], [2, 2], true, 'valid'],
    );
    assert.deepEqual(config(full, 'conv3_block1_1_conv')['strides'], [2, 2]);
    assert.deepEqual(config(full, 'conv2_block1_1_conv')['strides'], [1, 1]);
    assert.deepEqual(config(full, 'conv4_block6_2_conv')['padding'], 'same');
    const stageBlocks = (s: number) =>
      names(full).filter((n) => new RegExp(`^conv${s}_block\\d+_out$`).test(n)).length;
    assert.deepEqual([2, 3, 4, 5].map(stageBlocks), [3, 4, 6, 3]);
    const shortcuts = names(full).filter((n) => n.endsWith('_0_conv'));
    assert.deepEqual(shortcuts, [
      'conv2_block1_0_conv',
      'conv3_block1_0_conv',
      'conv4_block1_0_conv',
      'conv5_block1_0_conv',
    ]);
    for (const l of full.layers)
      if (l.getClassName() === 'KerasBatchNormalization')
        assert.equal((l.getConfig() as Record<string, unknown>)['epsilon'], 1.001e-5, l.name);
  });

  it('builds and runs reduced models with the same names', () => {
    const small = buildResNet50({ inputSize: 32, widthMultiplier: 0.125 });
    assert.deepEqual(names(small), names(full));
    const y = small.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 1, 1, 256]);
    y.dispose();
    assert.throws(
      () => buildResNet50({ inputSize: 31 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'inputSize',
    );
  });
});
