import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClassifier } from '../../lib/models/classifier';
import { inferenceBatchSize } from '../../lib/models/memory';
import { buildResNet50 } from '../../lib/models/resnet50';
import { buildXception } from '../../lib/models/xception';

test('inference batches: the study sizes stay whole on wasm, a larger image is split, other backends unchanged', () => {
  const xception = (inputSize: number) =>
    buildClassifier(buildXception({ inputSize, widthMultiplier: 1, seed: 1 }), {
      numClasses: 12,
      denseUnits: 256,
      l2: 0.0075,
      dropout: 0.5,
      seed: 1,
    });
  const full = xception(299);
  const resnet = buildResNet50({ inputSize: 224, widthMultiplier: 1, seed: 1 });
  const big = xception(1024);
  try {
    assert.equal(inferenceBatchSize(full, 32, 'wasm'), 32);
    assert.equal(inferenceBatchSize(resnet, 16, 'wasm'), 16);
    const split = inferenceBatchSize(big, 32, 'wasm');
    assert.ok(split >= 1 && split < 32, `1024 px: ${split}`);
    assert.equal(inferenceBatchSize(big, 32, 'tensorflow'), 32);
    assert.equal(inferenceBatchSize(big, 32, 'cpu'), 32);
  } finally {
    full.dispose();
    resnet.dispose();
    big.dispose();
  }
});
