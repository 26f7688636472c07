import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradients } from '../../lib/backend/wasm-gradients';
import { Rng } from '../../lib/util/rng';

const INPUT = 24;
const BATCH = 4;
const CLASSES = 3;

type Sym = tf.SymbolicTensor;

/** Applies a layer to one symbolic tensor (Layer.apply's return type covers every overload). */
function call(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

function relu(x: Sym): Sym {
  return call(tf.layers.activation({ activation: 'relu' }), x);
}

function bn(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ name, epsilon: 1e-3 });
}

/**
 * Xception in miniature: a stride-2 'valid' stem, then two entry-flow blocks (separable 3x3 convs
 * with batch norm, a 'same' max pool, and the residual 1x1 stride-2 conv), and a middle-flow
 * block with an identity shortcut.
 */
function tinyXception(): tf.LayersModel {
  const input = tf.input({ shape: [INPUT, INPUT, 3] });
  const conv = (filters: number, strides: number, x: Sym): Sym =>
    call(tf.layers.conv2d({ filters, kernelSize: 3, strides, useBias: false }), x);
  const sep = (filters: number, x: Sym): Sym =>
    call(tf.layers.separableConv2d({ filters, kernelSize: 3, padding: 'same', useBias: false }), x);
  let x = relu(call(bn('stem_bn'), conv(8, 2, input)));
  x = relu(call(bn('stem2_bn'), conv(8, 1, x)));
  for (const [i, filters] of [16, 24].entries()) {
    const shortcut = tf.layers.conv2d({
      filters,
      kernelSize: 1,
      strides: 2,
      padding: 'same',
      useBias: false,
    });
    const residual = call(bn(`res${i}_bn`), call(shortcut, x));
    let y = relu(call(bn(`b${i}_sep1_bn`), sep(filters, i === 0 ? x : relu(x))));
    y = call(bn(`b${i}_sep2_bn`), sep(filters, y));
    y = call(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), y);
    x = call(tf.layers.add(), [y, residual]);
  }
  const middle = call(bn('middle_bn'), sep(24, relu(x)));
  return head(input, call(tf.layers.add(), [middle, x]));
}

/**
 * ResNet50 in miniature: zero-padded 7x7 stride-2 stem and 3x3 stride-2 max pool as Keras builds
 * them, then two bottleneck blocks (1x1 / 3x3 / 1x1 with a projection shortcut), the second
 * striding by 2 on its first 1x1 conv as ResNet50 v1 does.
 */
function tinyResNet(): tf.LayersModel {
  const input = tf.input({ shape: [INPUT, INPUT, 3] });
  const conv = (filters: number, kernelSize: number, strides: number, x: Sym): Sym =>
    call(tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same' }), x);
  let x = call(tf.layers.zeroPadding2d({ padding: 3 }), input);
  x = call(tf.layers.conv2d({ filters: 8, kernelSize: 7, strides: 2 }), x);
  x = relu(call(bn('conv1_bn'), x));
  x = call(tf.layers.zeroPadding2d({ padding: 1 }), x);
  x = call(tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }), x);
  for (const [i, [filters, stride]] of [
    [4, 1],
    [8, 2],
  ].entries()) {
    const shortcut = call(bn(`b${i}_0_bn`), conv(4 * filters, 1, stride, x));
    let y = relu(call(bn(`b${i}_1_bn`), conv(filters, 1, stride, x)));
    y = relu(call(bn(`b${i}_2_bn`), conv(filters, 3, 1, y)));
    y = call(bn(`b${i}_3_bn`), conv(4 * filters, 1, 1, y));
    x = relu(call(tf.layers.add(), [shortcut, y]));
  }
  return head(input, x);
}

function head(input: Sym, features: Sym): tf.LayersModel {
  const pooled = call(tf.layers.globalAveragePooling2d({}), features);
  const output = call(tf.layers.dense({ units: CLASSES, activation: 'softmax' }), pooled);
  return tf.model({ inputs: input, outputs: output });
}

/** Values of every weight, drawn from a seeded generator so both backends start identical. */
function seededWeights(model: tf.LayersModel, seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return model.weights.map((w) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    const fanIn = shape.length > 1 ? size / shape[shape.length - 1]! : 1;
    for (let i = 0; i < size; i++) {
      if (/moving_mean/.test(w.name)) values[i] = 0;
      else if (/moving_variance/.test(w.name)) values[i] = 1;
      else if (/gamma/.test(w.name)) values[i] = 1 + 0.1 * rng.normal();
      else if (/beta|bias/.test(w.name)) values[i] = 0.05 * rng.normal();
      else values[i] = rng.normal() * Math.sqrt(2 / fanIn);
    }
    return tf.tensor(values, shape);
  });
}

function batchOf(seed: number): { xs: Float32Array; ys: Float32Array } {
  const rng = new Rng(seed);
  const xs = new Float32Array(BATCH * INPUT * INPUT * 3).map(() => rng.range(-1, 1));
  const ys = new Float32Array(BATCH * CLASSES);
  for (let b = 0; b < BATCH; b++) ys[b * CLASSES + (b % CLASSES)] = 1;
  return { xs, ys };
}

/** Builds the model on `backend` from the seeded weights and runs `steps` SGD steps. */
async function train(
  backend: string,
  build: () => tf.LayersModel,
  steps: number,
  afterStep?: (step: number) => void,
): Promise<number[]> {
  await tf.setBackend(backend);
  const model = build();
  const weights = seededWeights(model, 1);
  model.setWeights(weights);
  tf.dispose(weights);
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { xs, ys } = batchOf(100 + (step % 4));
    const x = tf.tensor4d(xs, [BATCH, INPUT, INPUT, 3]);
    const y = tf.tensor2d(ys, [BATCH, CLASSES]);
    const loss = (await model.trainOnBatch(x, y)) as number;
    losses.push(loss);
    tf.dispose([x, y]);
    afterStep?.(step);
  }
  model.dispose();
  return losses;
}

registerWasmGradients();

describe('training on wasm matches cpu', () => {
  for (const [name, build] of [
    ['Xception-like', tinyXception],
    ['ResNet-like', tinyResNet],
  ] as const) {
    it(`${name}: 4 SGD steps give the same losses`, async () => {
      const cpu = await train('cpu', build, 4);
      const wasm = await train('wasm', build, 4);
      // The loss must move, or equal losses would prove nothing about the gradients.
      assert.ok(Math.abs(cpu[3]! - cpu[0]!) > 1e-3, `cpu losses barely moved: ${cpu}`);
      cpu.forEach((want, i) => {
        const rel = Math.abs(wasm[i]! - want) / Math.abs(want);
        assert.ok(rel < 1e-3, `step ${i}: wasm ${wasm[i]} vs cpu ${want} (relative ${rel})`);
      });
    });
  }
});

describe('training on wasm keeps memory flat', () => {
  it('30 steps of both nets: no tensor or wasm buffer accumulates', async () => {
    for (const build of [tinyXception, tinyResNet]) {
      const counts: Array<[number, number]> = [];
      await train('wasm', build, 30, () =>
        counts.push([tf.memory().numTensors, tf.engine().backend.numDataIds()]),
      );
      // After a warm-up step (optimizer slots, lazily created variables) the counts must not move.
      const [tensors, buffers] = counts[2]!;
      counts.slice(2).forEach(([t, b], i) => {
        assert.equal(t, tensors, `numTensors at step ${i + 2}`);
        assert.equal(b, buffers, `wasm buffers at step ${i + 2}`);
      });
    }
  });
});
