import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradients } from '../../lib/backend/wasm-gradients';
import { resolveConfig } from '../../lib/config/profiles';
import { gradCam, upsampleMap, XCEPTION_GRADCAM_LAYER } from '../../lib/models/gradcam';
import { buildStudyModel } from '../../lib/pipeline/study1';
import { heatmapImage, infernoColour, overlayHeatmap } from '../../lib/plots/heatmap';
import { Rng } from '../../lib/util/rng';

const SIZE = 32;
/** Rows/cols [from, to) of the two regions: red evidence top right, green evidence bottom left. */
const RED = { r0: 4, r1: 12, c0: 20, c1: 28 };
const GREEN = { r0: 20, r1: 28, c0: 4, c1: 12 };

/**
 * A classifier whose classes depend on one region each: a 4x4 stride-4 convolution measures the
 * mean red-minus-green (filter 0) and green-minus-red (filter 1) of each 4x4 cell, with a bias
 * that silences the background noise; class 0 ("red") and class 1 ("green") read the pooled
 * filters. The 8x8 map is up-sampled to 32x32 by gradCam's caller.
 */
function regionModel(): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 4, strides: 4, name: 'evidence' });
  let x = conv.apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .activation({ activation: 'relu', name: 'evidence_act' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, activation: 'softmax', name: 'predictions' });
  const model = tf.model({ inputs: input, outputs: dense.apply(x) as tf.SymbolicTensor });
  const k = new Float32Array(4 * 4 * 3 * 2);
  for (let t = 0; t < 16; t++) {
    const base = t * 6; // [kh, kw, in=3, out=2] row-major: tap t, channel c, filter f -> t*6 + c*2 + f
    k[base + 0 * 2 + 0] = 1 / 16; // R -> filter 0
    k[base + 1 * 2 + 0] = -1 / 16; // G -> filter 0
    k[base + 0 * 2 + 1] = -1 / 16; // R -> filter 1
    k[base + 1 * 2 + 1] = 1 / 16; // G -> filter 1
  }
  conv.setWeights([tf.tensor4d(k, [4, 4, 3, 2]), tf.tensor1d([-0.3, -0.3])]);
  dense.setWeights([tf.tensor2d([4, -4, -4, 4], [2, 2]), tf.tensor1d([0, 0])]);
  return model;
}

/** Noise in [-0.1, 0.1] everywhere (preprocessed units), a red patch and a green patch. */
function regionImage(seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const x = new Float32Array(SIZE * SIZE * 3);
  for (let i = 0; i < x.length; i++) x[i] = rng.range(-0.1, 0.1);
  const paint = (r: typeof RED, rgb: number[]): void => {
    for (let y = r.r0; y < r.r1; y++)
      for (let xx = r.c0; xx < r.c1; xx++)
        for (let c = 0; c < 3; c++) x[(y * SIZE + xx) * 3 + c] = rgb[c]!;
  };
  paint(RED, [1, -1, -1]);
  paint(GREEN, [-1, 0.6, -1]); // weaker green: the model predicts red
  return tf.tensor4d(x, [1, SIZE, SIZE, 3]);
}

function massIn(heat: Float32Array, r: typeof RED, pad = 0): number {
  let inside = 0;
  let total = 0;
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const v = heat[y * SIZE + x]!;
      total += v;
      if (y >= r.r0 - pad && y < r.r1 + pad && x >= r.c0 - pad && x < r.c1 + pad) inside += v;
    }
  return total > 0 ? inside / total : 0;
}

before(async () => {
  registerWasmGradients();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('gradCam', () => {
  it('on the wasm backend, puts the heatmap of each class on the region that carries its signal', () => {
    assert.equal(tf.getBackend(), 'wasm');
    const model = regionModel();
    const x = regionImage(3);
    const predicted = gradCam(model, x);
    assert.equal(predicted.layerName, 'evidence_act', 'the last 4D layer by default');
    assert.deepEqual([predicted.height, predicted.width], [8, 8]);
    assert.deepEqual(predicted.classIndices, [0], 'the red patch is the stronger evidence');
    for (const [cls, own, other] of [
      [0, RED, GREEN],
      [1, GREEN, RED],
    ] as const) {
      const cam = gradCam(model, x, { classIndices: [cls] });
      const heat = upsampleMap(cam.maps[0]!, cam.height, cam.width, SIZE);
      assert.ok(Math.max(...cam.maps[0]!) === 1, 'scaled to a peak of 1');
      const inside = massIn(heat, own);
      assert.ok(inside > 0.6, `class ${cls}: ${inside.toFixed(3)} of the mass inside its region`);
      assert.ok(massIn(heat, own, 4) > 0.99, `class ${cls}: the mass within 4 px of its region`);
      assert.ok(massIn(heat, other, 0) < 0.01, `class ${cls}: no mass on the other region`);
    }
    const probs = model.predict(x) as tf.Tensor;
    const want = probs.dataSync();
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(predicted.probs[i]! - want[i]!) < 1e-6);
    tf.dispose([x, probs]);
    model.dispose();
  });

  it('explains the study Xception at block14_sepconv2_act on wasm, one map per image, without changing the model', () => {
    const config = resolveConfig('smoke', {});
    const model = buildStudyModel(config, 12, 42);
    const layersBefore = model.layers.map(
      (l) => (l as unknown as { inboundNodes: unknown[] }).inboundNodes.length,
    );
    const x = tf.randomUniform(
      [2, config.imageSize, config.imageSize, 3],
      -1,
      1,
      'float32',
      1,
    ) as tf.Tensor4D;
    const tensorsBefore = tf.memory().numTensors;
    const cam = gradCam(model, x, { classIndices: [3, 7] });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leak');
    assert.equal(cam.layerName, XCEPTION_GRADCAM_LAYER);
    const side = Math.ceil(config.imageSize / 32);
    assert.deepEqual([cam.maps.length, cam.height, cam.width], [2, side, side]);
    for (const m of cam.maps) assert.ok(m.every((v) => v >= 0 && v <= 1 && Number.isFinite(v)));
    const probs = model.predict(x) as tf.Tensor;
    const want = probs.dataSync();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(cam.probs[i]! - want[i]!) < 1e-5);
    assert.deepEqual(
      model.layers.map((l) => (l as unknown as { inboundNodes: unknown[] }).inboundNodes.length),
      layersBefore,
      'no nodes were added to the model',
    );
    tf.dispose([x, probs]);
    model.dispose();
  });

  it('refuses a layer that does not exist or whose successors are not a chain, and bad class indices', () => {
    const model = regionModel();
    const x = regionImage(1);
    assert.throws(() => gradCam(model, x, { layerName: 'nope' }), /no layer "nope"/);
    assert.throws(() => gradCam(model, x, { classIndices: [2] }), /classIndices/);
    tf.dispose(x);
    model.dispose();
  });
});

describe('heatmap overlay', () => {
  it('leaves cold pixels unchanged and colours hot ones with the inferno map', () => {
    const image = { height: 1, width: 2, data: new Uint8Array([10, 20, 30, 200, 100, 50]) };
    const out = overlayHeatmap(image, new Float32Array([0, 1]), 1);
    assert.deepEqual([...out.data.subarray(0, 3)], [10, 20, 30]);
    assert.deepEqual([...out.data.subarray(3)], infernoColour(1));
    assert.deepEqual(infernoColour(0), [0, 0, 4]);
    assert.equal(heatmapImage(new Float32Array([0.5, 0.5]), 1, 2).data.length, 6);
    assert.throws(() => overlayHeatmap(image, new Float32Array(3)), /heat/);
  });
});
