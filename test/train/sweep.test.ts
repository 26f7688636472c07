import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBest, type SweepModelResult } from '../../lib/train/sweep';
import { blockSweep, finetune, pretrain } from '../../lib/pipeline/recipes';
import { buildClassifier, buildXception } from '../../lib/models';
import { MemorySource } from './fixtures';
import { tempDir } from '../tmp';

function fake(blocks: number, right: boolean[], valLoss: number): SweepModelResult {
  const correct = right.filter(Boolean).length;
  return {
    blocks,
    dir: `/x/block${blocks}`,
    history: [],
    valAccuracy: correct / right.length,
    valLoss,
    correct,
    n: right.length,
    rightById: right,
    ids: right.map((_, i) => `img${i}`),
  };
}

test('selectBest ranks by final validation accuracy and reports intervals and McNemar honestly', () => {
  const n = 100;
  // block3: 70 right; block8: 66 right, 10 images only block3 got, 6 only block8 got.
  const a = Array.from({ length: n }, (_, i) => i < 70);
  const b = Array.from({ length: n }, (_, i) => i < 60 || (i >= 70 && i < 76));
  const c = Array.from({ length: n }, (_, i) => i < 40);
  const s = selectBest([fake(8, b, 0.9), fake(3, a, 1.0), fake(14, c, 0.5)]);
  assert.deepEqual(
    s.ranking.map((r) => r.blocks),
    [3, 8, 14],
  );
  assert.equal(s.best.blocks, 3);
  assert.equal(s.runnerUp!.blocks, 8);
  assert.equal(s.mcnemar!.onlyA, 10);
  assert.equal(s.mcnemar!.onlyB, 6);
  assert.ok(s.mcnemar!.exactP > 0.4 && s.mcnemar!.exactP < 0.5, String(s.mcnemar!.exactP));
  assert.ok(s.best.interval.lower < 0.7 && s.best.interval.upper > 0.7);
  assert.match(s.text, /block3 has the highest validation accuracy: 70\.0% \(70\/100, 95% CI/);
  assert.match(s.text, /not significant at the 5% level and the intervals overlap/);
  // Ties on accuracy: the lower validation loss wins, then the smaller N.
  const tie = selectBest([fake(5, a, 0.8), fake(2, a, 0.9), fake(1, a, 0.8)]);
  assert.deepEqual(
    tie.ranking.map((r) => r.blocks),
    [1, 5, 2],
  );
  assert.equal(tie.mcnemar!.exactP, 1);
});

test('recipes on a tiny Xception: pretraining trains only the head, fine-tuning keeps blocks 1..N frozen, the sweep matches it', async () => {
  await tf.setBackend('cpu');
  const dir = tempDir('artstyle-recipes-');
  const size = 71;
  const build = () =>
    buildClassifier(buildXception({ inputSize: size, widthMultiplier: 0.125, seed: 1 }), {
      numClasses: 2,
      denseUnits: 4,
      seed: 2,
    });
  const trainSource = new MemorySource([2, 2], size, 1, true);
  const valSource = new MemorySource([1, 1], size, 2, false);
  const stage = (kind: 'rmsprop' | 'sgd') => ({
    epochs: 1,
    batchSize: 4,
    optimizer: { kind, lr: 0.01, momentum: kind === 'sgd' ? 0.9 : 0 },
  });
  const model = build();
  const baseBefore = model.getLayer('block1_conv1').getWeights()[0]!.dataSync().slice();
  const headBefore = model.getLayer('fc1').getWeights()[0]!.dataSync().slice();
  const pre = await pretrain({
    model,
    trainSource,
    valSource,
    outDir: path.join(dir, 'pretrain'),
    seed: 1,
    stage: stage('rmsprop'),
    log: null,
  });
  assert.equal(pre.status, 'completed');
  assert.deepEqual(model.getLayer('block1_conv1').getWeights()[0]!.dataSync(), baseBefore);
  assert.notDeepEqual(model.getLayer('fc1').getWeights()[0]!.dataSync(), headBefore);
  const frozenBn = model
    .getLayer('block13_sepconv2_bn')
    .getWeights()
    .map((w) => w.dataSync().slice());
  const block14Before = model.getLayer('block14_sepconv1').getWeights()[0]!.dataSync().slice();
  model.dispose();

  const ft = build();
  const r = await finetune({
    model: ft,
    fromCheckpoint: path.join(dir, 'pretrain'),
    blocks: 13,
    trainSource,
    valSource,
    outDir: path.join(dir, 'ft'),
    seed: 1,
    stage: stage('sgd'),
    log: null,
  });
  assert.equal(r.status, 'completed');
  assert.deepEqual(ft.getLayer('block1_conv1').getWeights()[0]!.dataSync(), baseBefore);
  ft.getLayer('block13_sepconv2_bn')
    .getWeights()
    .forEach((w, i) => assert.deepEqual(w.dataSync(), frozenBn[i], `frozen BN weight ${i}`));
  assert.notDeepEqual(
    ft.getLayer('block14_sepconv1').getWeights()[0]!.dataSync(),
    block14Before,
    'block 14 is trainable with N = 13',
  );
  ft.dispose();
  const sweep = await blockSweep({
    blocks: [14, 13],
    fromCheckpoint: path.join(dir, 'pretrain'),
    buildModel: build,
    trainSource,
    valSource,
    outDir: path.join(dir, 'sweep'),
    seed: 1,
    stage: stage('sgd'),
    log: null,
  });
  assert.equal(sweep.status, 'completed');
  assert.equal(sweep.models.length, 2);
  assert.ok(fs.existsSync(path.join(dir, 'sweep', 'sweep-summary.json')));
  // The sweep's block13 is the same run as the stand-alone fine-tuning with N = 13.
  assert.deepEqual(
    sweep.models[1]!.history.map((h) => h.loss),
    r.history.map((h) => h.loss),
  );
});
