import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradients } from '../../lib/backend/wasm-gradients';
import { buildClassifier } from '../../lib/models/classifier';
import { freezeBase, freezeBlocks } from '../../lib/models/freeze';
import { preprocessInput } from '../../lib/models/preprocess';
import { buildXception } from '../../lib/models/xception';
import { evaluateLossAccuracy } from '../../lib/train/forward';
import { FrozenPrefixValidation, frozenSplit } from '../../lib/train/frozen-prefix';
import { makeOptimizer } from '../../lib/train/loop';
import { wholeBatchStep } from '../../lib/train/step';
import type { Batch } from '../../lib/train/types';
import { orderedWeights } from '../../lib/train/weights';
import { MemorySource } from './fixtures';

const SIZE = 71;
const preprocess = (x: tf.Tensor4D) => preprocessInput('xception', x);

function model(): tf.LayersModel {
  const base = buildXception({ inputSize: SIZE, widthMultiplier: 0.25, seed: 3 });
  return buildClassifier(base, { numClasses: 3, denseUnits: 8, seed: 3 });
}

async function trainOnce(m: tf.LayersModel, source: MemorySource): Promise<void> {
  const optimizer = makeOptimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9 });
  const variables = orderedWeights(m)
    .filter((w) => w.trainable)
    .map((w) => w.variable.read() as tf.Variable);
  for await (const batch of source.batches(1, 4)) {
    await wholeBatchStep(batch as Batch, {
      model: m,
      optimizer,
      variables,
      numClasses: 3,
      classWeights: null,
      preprocess,
    });
  }
  optimizer.dispose();
}

// Training runs on wasm only: on the pure-JavaScript cpu backend an Xception step takes minutes.
for (const [backend, epochs] of [
  ['wasm', 3],
  ['cpu', 1],
] as const) {
  test(`${backend}: validation from the kept frozen prefix equals the full pass bit for bit, epoch after epoch`, async () => {
    registerWasmGradients();
    await tf.setBackend(backend);
    const val = new MemorySource([3, 2, 3], SIZE, 5, false);
    const train = new MemorySource([2, 2, 2], SIZE, 6, true);
    for (const freeze of [(m: tf.LayersModel) => freezeBlocks(m, 4), freezeBase]) {
      const m = model();
      freeze(m);
      const kept = FrozenPrefixValidation.for(m, val.size);
      assert.ok(kept, 'a frozen prefix is found');
      for (let epoch = 0; epoch < epochs; epoch++) {
        const want = await evaluateLossAccuracy(m, val, 3, preprocess);
        const got: unknown = await kept.evaluate(val, 3, preprocess);
        assert.deepEqual(got, want, `epoch ${epoch}`);
        if (backend === 'wasm') await trainOnce(m, train);
      }
      // Again from the kept values (cpu: without training in between).
      const want = await evaluateLossAccuracy(m, val, 3, preprocess);
      assert.deepEqual(await kept.evaluate(val, 3, preprocess), want, 'from the kept values');
      if (backend === 'wasm') {
        // The suffix really changed between epochs (else the comparison would prove little).
        const fresh = model();
        freeze(fresh);
        assert.notDeepEqual(want, await evaluateLossAccuracy(fresh, val, 3, preprocess));
        fresh.dispose();
      }
      m.dispose();
    }
  });
}

test('the frontier: the first trainable block’s input; none when everything trains; the pooled features when only the head trains', () => {
  const m = model();
  freezeBlocks(m, 4);
  const split = frozenSplit(m)!;
  // Block 5 (the first middle-flow block) reads block 4's output (the residual sum) in its
  // shortcut and, through its first ReLU (no weights, so frozen too), in its first conv.
  const block4 = m.getLayer('block5_sepconv1_act').inboundNodes[0]!.inputTensors[0]!;
  const relu = m.getLayer('block5_sepconv1_act').inboundNodes[0]!.outputTensors[0]!;
  assert.deepEqual(split.frontier.map((t) => t.id).sort(), [block4.id, relu.id].sort());
  assert.equal(split.floatsPerImage, 2 * 5 * 5 * 184);
  freezeBlocks(m, 0);
  assert.equal(frozenSplit(m), null);
  freezeBase(m);
  const head = frozenSplit(m)!;
  assert.equal(head.frontier.length, 1);
  // The pooled features: global average pooling has no weights, so it is frozen as well.
  assert.equal(head.frontier[0]!.id, m.getLayer('avg_pool').inboundNodes[0]!.outputTensors[0]!.id);
  // Too large to keep: no cache.
  assert.equal(FrozenPrefixValidation.for(m, 1000, 1), null);
  m.dispose();
});
