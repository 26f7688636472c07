import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildClassifier,
  buildXception,
  fileSystemHandler,
  freezeBlocks,
  KerasBatchNormalization,
  SeededDropout,
  setDropoutStep,
} from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-fs-handler-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const smallClassifier = (seed: number): tf.LayersModel =>
  buildClassifier(buildXception({ inputSize: 71, widthMultiplier: 0.05, seed }), {
    numClasses: 3,
    denseUnits: 8,
    seed,
  });
const input = (): tf.Tensor => tf.randomUniform([2, 71, 71, 3], -1, 1, 'float32', 5);
const predict = (m: tf.LayersModel): Float32Array =>
  (m.predict(input()) as tf.Tensor).dataSync() as Float32Array;
/** Shifts every weight, so that a model's predictions and BN statistics differ from the last save. */
function perturb(m: tf.LayersModel, by: number): void {
  for (const l of m.layers)
    if (l.weights.length) l.setWeights(l.getWeights().map((w) => w.add(by)));
}

describe('fileSystemHandler', () => {
  it('save then load gives identical predictions, custom layers and frozen flags', async () => {
    const dir = path.join(root, 'roundtrip');
    const model = smallClassifier(1);
    freezeBlocks(model, 3);
    perturb(model, 0.01); // non-default moving statistics too
    await model.save(fileSystemHandler(dir));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.artstyle.formatVersion, 1);
    assert.match(json.artstyle.weightsSha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(fs.readdirSync(dir).sort(), [json.artstyle.weightsFile, 'model.json'].sort());

    const loaded = await tf.loadLayersModel(fileSystemHandler(dir));
    assert.deepEqual(predict(loaded), predict(model));
    assert.ok(loaded.getLayer('block5_sepconv1_bn') instanceof KerasBatchNormalization);
    const dropout = loaded.getLayer('dropout');
    assert.ok(dropout instanceof SeededDropout && dropout.seed === 1 && dropout.rate === 0.5);
    assert.equal(loaded.getLayer('block3_sepconv2').trainable, false);
    assert.equal(loaded.getLayer('block4_sepconv1').trainable, true);
    assert.deepEqual(
      loaded.layers.map((l) => l.name),
      model.layers.map((l) => l.name),
    );
  });

  it('a checkpoint with optimizer state resumes training exactly (same loss, same weights)', async () => {
    const dir = path.join(root, 'resume');
    const model = smallClassifier(5);
    freezeBlocks(model, 12);
    model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: 'categoricalCrossentropy' });
    const x = input();
    const y = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 3);
    setDropoutStep(model, 0);
    await model.fit(x, y, { epochs: 1, verbose: 0 });
    await model.save(fileSystemHandler(dir), { includeOptimizer: true });
    const resumed = await tf.loadLayersModel(fileSystemHandler(dir));
    assert.equal(resumed.optimizer.getClassName(), 'Momentum');
    setDropoutStep(model, 1);
    setDropoutStep(resumed, 1);
    const h1 = await model.fit(x, y, { epochs: 1, verbose: 0, shuffle: false });
    const h2 = await resumed.fit(x, y, { epochs: 1, verbose: 0, shuffle: false });
    assert.deepEqual(h2.history['loss'], h1.history['loss']);
    for (const name of ['fc1', 'predictions', 'block14_sepconv2', 'block14_sepconv2_bn'])
      assert.deepEqual(
        resumed
          .getLayer(name)
          .getWeights()
          .map((w) => w.dataSync()),
        model
          .getLayer(name)
          .getWeights()
          .map((w) => w.dataSync()),
        name,
      );
  });

  it('a save that dies between its steps leaves the previous checkpoint intact', async () => {
    const dir = path.join(root, 'crash');
    const model = smallClassifier(2);
    await model.save(fileSystemHandler(dir));
    const first = predict(model);
    perturb(model, 0.05);
    const second = predict(model);
    assert.notDeepEqual(second, first);

    const crash = (at: string) =>
      fileSystemHandler(dir, {
        onStep: (step) => {
          if (step === at) throw new Error(`simulated crash after ${step}`);
        },
      });
    await assert.rejects(model.save(crash('weights-written')), /simulated crash/);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.bin')).length, 2);
    assert.deepEqual(predict(await tf.loadLayersModel(fileSystemHandler(dir))), first);

    // Once model.json is replaced, the new checkpoint is the one that loads.
    await assert.rejects(model.save(crash('model-json-written')), /simulated crash/);
    assert.deepEqual(predict(await tf.loadLayersModel(fileSystemHandler(dir))), second);

    // The next complete save removes what the interrupted ones left.
    await model.save(fileSystemHandler(dir));
    assert.equal(fs.readdirSync(dir).length, 2);
  });

  it('a process killed (SIGKILL) in the middle of a save leaves the previous checkpoint loadable', async () => {
    const dir = path.join(root, 'killed');
    const model = smallClassifier(3);
    await model.save(fileSystemHandler(dir));
    const saved = predict(model);
    const lib = path.join(__dirname, '../../lib/models');
    const child = `
      const tf = require('@tensorflow/tfjs');
      const m = require(${JSON.stringify(lib)});
      (async () => {
        await tf.setBackend('cpu');
        const model = await tf.loadLayersModel(m.fileSystemHandler(${JSON.stringify(dir)}));
        for (const l of model.layers) if (l.weights.length) l.setWeights(l.getWeights().map((w) => w.add(1)));
        await model.save(m.fileSystemHandler(${JSON.stringify(dir)}, {
          onStep: (step) => { if (step === 'weights-written') process.kill(process.pid, 'SIGKILL'); },
        }));
      })();`;
    const r = spawnSync(process.execPath, ['-e', child], {
      cwd: path.join(__dirname, '../../..'),
      encoding: 'utf8',
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.equal(
      fs.readdirSync(dir).filter((n) => n.endsWith('.bin')).length,
      2,
      'the child got as far as its weights',
    );
    assert.deepEqual(predict(await tf.loadLayersModel(fileSystemHandler(dir))), saved);
  });

  it('detects and names corrupt weights, foreign JSON and missing checkpoints', async () => {
    const dir = path.join(root, 'corrupt');
    await smallClassifier(4).save(fileSystemHandler(dir));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const weights = path.join(dir, json.artstyle.weightsFile);
    const bytes = fs.readFileSync(weights);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(weights, bytes);
    await assert.rejects(
      tf.loadLayersModel(fileSystemHandler(dir)),
      (e: unknown) =>
        e instanceof ArtstyleError && e.code === 'corrupt-file' && e.subject === weights,
    );

    const foreign = path.join(root, 'foreign');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'model.json'), JSON.stringify({ hello: 'world' }));
    await assert.rejects(
      tf.loadLayersModel(fileSystemHandler(foreign)),
      (e: unknown) =>
        e instanceof ArtstyleError &&
        e.code === 'foreign-file' &&
        e.subject === path.join(foreign, 'model.json'),
    );
    fs.writeFileSync(path.join(foreign, 'model.json'), '{"truncated');
    await assert.rejects(
      tf.loadLayersModel(fileSystemHandler(foreign)),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'corrupt-file',
    );
    const future = { ...json, artstyle: { ...json.artstyle, formatVersion: 99 } };
    fs.writeFileSync(path.join(foreign, 'model.json'), JSON.stringify(future));
    await assert.rejects(tf.loadLayersModel(fileSystemHandler(foreign)), /checkpoint format 99/);
    await assert.rejects(
      tf.loadLayersModel(fileSystemHandler(path.join(root, 'nothing-here'))),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'missing-file',
    );
  });
});
