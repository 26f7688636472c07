import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradients } from '../../lib/backend/wasm-gradients';
import { buildClassifier } from '../../lib/models/classifier';
import { buildResNet50 } from '../../lib/models/resnet50';
import { buildXception } from '../../lib/models/xception';
import { Rng } from '../../lib/util/rng';

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
 * ResNet50 in miniature: zero-padded 7x7 stride-2 stem and 3x3 stride-2 max pool as Keras builds
 * them, then two bottleneck blocks (1x1 / 3x3 / 1x1 with a projection shortcut), the second
 * striding by 2 on its first 1x1 conv as ResNet50 v1 does.
 */
function tinyResNet(): tf.LayersModel {
  const input = tf.input({ shape: [24, 24, 3] });
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

const BATCH = 4;
const CLASSES = 3;

interface Net {
  name: string;
  input: number;
  /** SGD step size for the loss-trajectory test. */
  learningRate: number;
  build: () => tf.LayersModel;
}

const classifier = (base: tf.LayersModel): tf.LayersModel =>
  buildClassifier(base, { numClasses: CLASSES, seed: 1, denseUnits: 8, dropout: 0 });

/**
 * The project's real Xception and ResNet50 (lib/models) at the smallest width (8 channels per
 * layer) and a small input, topped by the study's classifier head without dropout: every layer
 * type and stride/padding configuration of the full networks, at a size the cpu backend trains in
 * seconds.
 */
const XCEPTION: Net = {
  name: 'Xception',
  input: 71,
  learningRate: 0.003,
  build: () => classifier(buildXception({ inputSize: 71, widthMultiplier: 0.01, seed: 1 })),
};
const RESNET50: Net = {
  name: 'ResNet50',
  input: 64,
  learningRate: 0,
  build: () => classifier(buildResNet50({ inputSize: 64, widthMultiplier: 0.01, seed: 1 })),
};
/**
 * ResNet50 at 8 channels and batch 4 is too ill-conditioned to compare training trajectories
 * between any two backends: its initial gradients reach ~50 and swing the loss by 0.5 even at a
 * step size of 3e-5, and a pre-activation that float32 rounding puts on the other side of 0 on
 * one backend flips a ReLU mask and changes some gradients by tens of percent (seen at input 48).
 * Its gradients are compared at the initial weights only; the trajectory test uses the
 * well-conditioned miniature below, which has the same layer configurations.
 */
const TINY_RESNET: Net = {
  name: 'ResNet-like',
  input: 24,
  learningRate: 0.05,
  build: () => withSeededWeights(tinyResNet(), 1),
};

/** Overwrites every weight with values from a seeded generator (He-scaled kernels, BN near 1/0). */
function withSeededWeights(model: tf.LayersModel, seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const weights = model.weights.map((w) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? size / shape[shape.length - 1]! : 1;
    const values = new Float32Array(size).map(() => {
      if (/moving_mean/.test(w.name)) return 0;
      if (/moving_variance/.test(w.name)) return 1;
      if (/gamma/.test(w.name)) return 1 + 0.1 * rng.normal();
      if (/beta|bias/.test(w.name)) return 0.05 * rng.normal();
      return rng.normal() * Math.sqrt(2 / fanIn);
    });
    return tf.tensor(values, shape);
  });
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

function batchOf(net: Net, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = new Rng(seed);
  const pixels = new Float32Array(BATCH * net.input * net.input * 3).map(() => rng.range(-1, 1));
  const labels = new Float32Array(BATCH * CLASSES);
  for (let b = 0; b < BATCH; b++) labels[b * CLASSES + (b % CLASSES)] = 1;
  return {
    x: tf.tensor4d(pixels, [BATCH, net.input, net.input, 3]),
    y: tf.tensor2d(labels, [BATCH, CLASSES]),
  };
}

/** Gradient of the loss for every trainable weight, in model order, at the initial weights. */
async function initialGradients(
  backend: string,
  net: Net,
): Promise<Array<{ name: string; grad: Float32Array }>> {
  await tf.setBackend(backend);
  const model = net.build();
  const { x, y } = batchOf(net, 100);
  const { value, grads } = tf.variableGrads(() =>
    tf.metrics
      .categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)
      .mean()
      .asScalar(),
  );
  const byName = model.trainableWeights.map((w) => ({
    name: w.name,
    grad: grads[(w as unknown as { val: tf.Variable }).val.name]!.dataSync() as Float32Array,
  }));
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return byName;
}

/** Builds the model on `backend` and runs `steps` SGD steps, returning the losses. */
async function train(
  backend: string,
  net: Net,
  steps: number,
  afterStep?: (step: number) => void,
): Promise<number[]> {
  await tf.setBackend(backend);
  const model = net.build();
  model.compile({ optimizer: tf.train.sgd(net.learningRate), loss: 'categoricalCrossentropy' });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { x, y } = batchOf(net, 100); // one batch: the loss should fall step by step
    losses.push((await model.trainOnBatch(x, y)) as number);
    tf.dispose([x, y]);
    afterStep?.(step);
  }
  model.dispose();
  return losses;
}

registerWasmGradients();

describe('training on wasm matches cpu', () => {
  for (const net of [XCEPTION, RESNET50]) {
    it(`${net.name}: every initial gradient agrees`, async () => {
      const want = await initialGradients('cpu', net);
      const got = await initialGradients('wasm', net);
      // Each kernel agrees to ~1e-7 (wasm-gradients.test); through ~50 batch norms over a batch of
      // 4, rounding differences grow to ~1e-4 of a gradient's scale.
      want.forEach(({ name, grad }, i) => {
        // ResNet's conv biases feed a batch norm, which cancels them: their exact gradient is 0
        // and what both backends compute is rounding noise.
        if (/_conv\/bias$/.test(name)) return;
        let diff = 0;
        let scale = 0;
        grad.forEach((v, j) => {
          diff = Math.max(diff, Math.abs(v - got[i]!.grad[j]!));
          scale = Math.max(scale, Math.abs(v));
        });
        assert.ok(diff <= 1e-3 * scale, `${net.name} ${name}: relative error ${diff / scale}`);
      });
    });
  }

  for (const net of [XCEPTION, TINY_RESNET]) {
    it(`${net.name}: 3 SGD steps give the same losses`, async () => {
      const cpu = await train('cpu', net, 3);
      const wasm = await train('wasm', net, 3);
      // The loss must move, or equal losses would prove nothing about the updates.
      assert.ok(Math.abs(cpu[2]! - cpu[0]!) > 1e-3, `cpu losses barely moved: ${cpu}`);
      cpu.forEach((want, i) => {
        const rel = Math.abs(wasm[i]! - want) / Math.abs(want);
        assert.ok(rel < 1e-3, `step ${i}: wasm ${wasm[i]} vs cpu ${want} (relative ${rel})`);
      });
    });
  }
});

describe('training on wasm keeps memory flat', () => {
  it('30 steps of each net: no tensor or wasm buffer accumulates', async () => {
    for (const net of [XCEPTION, { ...RESNET50, learningRate: 1e-4 }]) {
      const counts: Array<[number, number]> = [];
      await train('wasm', net, 30, () =>
        counts.push([tf.memory().numTensors, tf.engine().backend.numDataIds()]),
      );
      // After a warm-up step (optimizer state created on first use) the counts must not move.
      const [tensors, buffers] = counts[1]!;
      counts.slice(1).forEach(([t, b], i) => {
        assert.equal(t, tensors, `${net.name}: numTensors at step ${i + 1}`);
        assert.equal(b, buffers, `${net.name}: wasm buffers at step ${i + 1}`);
      });
    }
  });
});
