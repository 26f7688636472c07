import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildClassifier, buildResNet50, buildXception, loadKerasWeights } from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';
import { Rng } from '../../lib/util/rng';

// The writer below is the test's own, independent of the library: it lays a file out as Keras 2's
// `save_weights` does (root attribute layer_names, per-layer group with attribute weight_names,
// datasets at <layer>/<layer>/<weight>:0, fixed-length byte-string attributes).
interface H5Writer {
  ready: Promise<unknown>;
  File: new (file: string, mode: string) => H5WGroup & { close(): void };
}
interface H5WGroup {
  create_group(name: string): H5WGroup;
  create_attribute(name: string, data: unknown, shape?: number[], dtype?: string): void;
  create_dataset(args: {
    name: string;
    data: Float32Array;
    shape: number[];
    dtype: string;
  }): unknown;
}

interface FileLayer {
  name: string;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

/** Keras's weight names per layer class, in Keras's order. */
function kerasWeightNames(className: string): string[] {
  switch (className) {
    case 'Conv2D':
    case 'Dense':
      return ['kernel', 'bias'];
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', 'bias'];
    case 'KerasBatchNormalization':
      return ['gamma', 'beta', 'moving_mean', 'moving_variance'];
    default:
      return [];
  }
}

/**
 * The layers of `model` as a Keras 2 file of an older Keras would list them: same order and
 * shapes, random values, and the unnamed layers with the old global counters (conv2d_5, ...).
 */
function kerasFileLayers(model: tf.LayersModel, seed: number): FileLayer[] {
  const rng = new Rng(seed);
  const oldName = (n: string): string => {
    const m = /^(conv2d|batch_normalization|add)(?:_(\d+))?$/.exec(n);
    return m ? `${m[1]}_${Number(m[2] ?? 0) + 5}` : n;
  };
  return model.layers.map((layer) => {
    const name = oldName(layer.name);
    const names = kerasWeightNames(layer.getClassName());
    const weights = layer.weights.map((w, i) => {
      const shape = w.shape as number[];
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => rng.normal());
      return { name: `${name}/${names[i]}:0`, shape, values };
    });
    return { name, weights };
  });
}

async function writeKerasFile(file: string, layers: FileLayer[]): Promise<void> {
  const h5 = (await (import('h5wasm/node') as Promise<unknown>)) as H5Writer;
  await h5.ready;
  const f = new h5.File(file, 'w');
  const strings = (g: H5WGroup, attr: string, list: string[]): void => {
    if (list.length === 0) g.create_attribute(attr, new Float64Array(0), [0], '<f8');
    else
      g.create_attribute(attr, list, [list.length], `S${Math.max(...list.map((s) => s.length))}`);
  };
  strings(
    f,
    'layer_names',
    layers.map((l) => l.name),
  );
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('keras_version', '2.1.6');
  for (const layer of layers) {
    const g = f.create_group(layer.name);
    strings(
      g,
      'weight_names',
      layer.weights.map((w) => w.name),
    );
    const groups = new Map<string, H5WGroup>();
    for (const w of layer.weights) {
      const [sub, leaf] = w.name.split('/') as [string, string];
      if (!groups.has(sub)) groups.set(sub, g.create_group(sub));
      groups.get(sub)?.create_dataset({ name: leaf, data: w.values, shape: w.shape, dtype: '<f4' });
    }
  }
  f.close();
}

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-keras-weights-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every weight of every layer equals the file's values, and landed in the variable of that name. */
function assertLoaded(model: tf.LayersModel, layers: FileLayer[]): number {
  let checked = 0;
  model.layers.forEach((layer, i) => {
    const fl = layers[i] as FileLayer;
    layer.weights.forEach((w, j) => {
      const fw = fl.weights[j]!;
      const kerasKind = fw.name.split('/')[1]!.replace(/:0$/, '');
      assert.ok(w.originalName.endsWith(`/${kerasKind}`), `${w.originalName} received ${fw.name}`);
      assert.deepEqual(w.read().dataSync(), fw.values, `${layer.name} weight ${j}`);
      checked++;
    });
  });
  return checked;
}

describe('loadKerasWeights', () => {
  it('loads a Keras 2 file with old layer names into a reduced Xception, every weight in its variable', async () => {
    const model = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    const layers = kerasFileLayers(model, 1);
    assert.ok(layers.some((l) => l.name === 'conv2d_6') && layers.some((l) => l.name === 'add_16'));
    const file = path.join(dir, 'xception_notop.h5');
    await writeKerasFile(file, layers);
    const result = await loadKerasWeights(model, file);
    assert.equal(result.layers, 2 * 2 + 4 * 2 + 34 * 2); // block 1, residual convs, separable convs; each + BN
    assert.equal(assertLoaded(model, layers), result.weights);
    assert.deepEqual(result.renamed[0], ['conv2d_5', 'conv2d']);
  });

  it('loads a ResNet50 file in Keras order (shortcut convolutions after the main path)', async () => {
    const model = buildResNet50({ inputSize: 32, widthMultiplier: 0.125 });
    const layers = kerasFileLayers(model, 2);
    const file = path.join(dir, 'resnet50_notop.h5');
    await writeKerasFile(file, layers);
    const result = await loadKerasWeights(model, file);
    assert.equal(result.layers, 53 + 53);
    assert.equal(assertLoaded(model, layers), 53 * 2 + 53 * 4);
  });

  it('fails on the first layer whose shapes disagree, naming both layers and both shapes, and assigns nothing', async () => {
    const model = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    const layers = kerasFileLayers(model, 3);
    const bad = layers.find((l) => l.name === 'conv2d_6')!;
    const shape = bad.weights[0]!.shape;
    const wrong = [1, 1, shape[2]!, shape[3]! + 8];
    bad.weights[0] = {
      ...bad.weights[0]!,
      shape: wrong,
      values: new Float32Array(wrong.reduce((a, b) => a * b)),
    };
    const file = path.join(dir, 'one_shape_changed.h5');
    await writeKerasFile(file, layers);
    const before = model.getLayer('block1_conv1').getWeights()[0]!.dataSync();
    await assert.rejects(loadKerasWeights(model, file), (e: unknown) => {
      assert.ok(e instanceof ArtstyleError);
      assert.equal(e.code, 'weights-mismatch');
      assert.match(e.message, /"conv2d_6" in the file/);
      assert.match(e.message, /model layer "conv2d_1"/);
      assert.ok(e.message.includes(`[${wrong.join(', ')}]`), e.message);
      assert.ok(e.message.includes(`[${shape.join(', ')}]`), e.message);
      return true;
    });
    assert.deepEqual(model.getLayer('block1_conv1').getWeights()[0]!.dataSync(), before);
  });

  it('fails when the numbers of layers with weights differ, and on files that are not Keras HDF5', async () => {
    const base = buildXception({ inputSize: 71, widthMultiplier: 0.05 });
    const file = path.join(dir, 'base.h5');
    await writeKerasFile(file, kerasFileLayers(base, 4));
    const withHead = buildClassifier(base, { numClasses: 3, denseUnits: 8, seed: 1 });
    await assert.rejects(
      loadKerasWeights(withHead, file),
      /has 80 layers with weights but model xception_classifier has 82/,
    );
    const notH5 = path.join(dir, 'not.h5');
    fs.writeFileSync(notH5, 'hello');
    await assert.rejects(
      loadKerasWeights(base, notH5),
      (e: unknown) =>
        e instanceof ArtstyleError && e.code === 'corrupt-file' && e.subject === notH5,
    );
    await assert.rejects(
      loadKerasWeights(base, path.join(dir, 'missing.h5')),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'missing-file',
    );
  });
});
