import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildClassifier,
  buildResNet50,
  buildXception,
  freezeBlocks,
  modelSummaryRows,
  paramCounts,
  weightedLayerCount,
} from '../../lib/models';

before(async () => {
  await tf.setBackend('cpu');
});

describe('model summaries', () => {
  it("split parameters as Keras's summary does (BN moving statistics are non-trainable)", () => {
    assert.deepEqual(paramCounts(buildXception()), {
      total: 20_861_480,
      trainable: 20_806_952,
      nonTrainable: 54_528,
    });
    assert.deepEqual(paramCounts(buildResNet50()), {
      total: 23_587_712,
      trainable: 23_534_592,
      nonTrainable: 53_120,
    });
  });

  it('lists every layer as plain data with block, shape, params, trainability and inputs', () => {
    const model = buildClassifier(buildXception({ inputSize: 96, widthMultiplier: 0.25 }), {
      numClasses: 4,
      seed: 1,
    });
    freezeBlocks(model, 2);
    const rows = modelSummaryRows(model);
    assert.equal(rows.length, model.layers.length);
    assert.equal(
      rows.reduce((s, r) => s + r.params, 0),
      model.countParams(),
    );
    const byName = new Map(rows.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('add'), {
      name: 'add',
      className: 'Add',
      outputShape: '23x23x32', // 96 -> 47 (3x3/2 valid) -> 45 -> 23 (pool, same)
      params: 0,
      trainable: false,
      block: 2,
      inputs: ['block2_pool', 'batch_normalization'],
    });
    assert.equal(byName.get('block3_sepconv1')?.trainable, true);
    assert.equal(byName.get('predictions')?.block, null);
    assert.equal(byName.get('predictions')?.outputShape, '4');
    assert.doesNotThrow(() => JSON.stringify(rows));
    assert.equal(weightedLayerCount(model), 82);
  });
});
