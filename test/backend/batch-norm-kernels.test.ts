import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  batchNormTraining,
  fusedBatchNormAvailable,
  setFusedBatchNorm,
} from '../../lib/backend/batch-norm-kernels';
import { registerWasmGradients, setWasmKernelSet } from '../../lib/backend/wasm-gradients';
import { KerasBatchNormalization } from '../../lib/models/batch-norm';
import { Rng } from '../../lib/util/rng';

function values(rng: Rng, n: number, scale = 1, shift = 0): Float32Array {
  return Float32Array.from({ length: n }, () => shift + scale * rng.normal());
}

/** max |got - want| / max |want|. */
function relative(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
  }
  assert.ok(ref > 0, 'the reference is all zeros');
  return diff / ref;
}

interface Outcome {
  loss: number;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

/**
 * One training call of a KerasBatchNormalization on `backend`, fused or as tfjs composes it: the
 * loss sum(y * w) and its gradients with respect to x, gamma and beta, and the moving statistics
 * the call left.
 */
async function trainingCall(
  backend: string,
  fused: boolean,
  shape: number[],
  seed: number,
): Promise<Outcome> {
  await tf.setBackend(backend);
  setFusedBatchNorm(fused);
  const rng = new Rng(seed);
  const channels = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b, 1);
  // A mean far from zero and channels of different scales: the variance pass must centre first.
  const xv = values(rng, size, 2, 3);
  const wv = values(rng, size);
  const layer = new KerasBatchNormalization({ momentum: 0.9 });
  layer.build(shape);
  const init = [
    values(rng, channels, 0.1, 1),
    values(rng, channels, 0.1),
    values(rng, channels, 0.1),
    values(rng, channels, 0.1, 1).map(Math.abs),
  ];
  layer.setWeights(init.map((v) => tf.tensor1d(v)));
  const x = tf.tensor(xv, shape);
  const w = tf.tensor(wv, shape);
  try {
    const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const f = (input: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, w)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(() => f(x), [gamma!, beta!]);
    const dx = tf.grad(f)(x);
    const [, , movingMean, movingVariance] = layer.getWeights();
    const out: Outcome = {
      loss: value.dataSync()[0]!,
      dx: dx.dataSync() as Float32Array,
      dGamma: grads[gamma!.name]!.dataSync() as Float32Array,
      dBeta: grads[beta!.name]!.dataSync() as Float32Array,
      movingMean: movingMean!.dataSync() as Float32Array,
      movingVariance: movingVariance!.dataSync() as Float32Array,
    };
    tf.dispose([value, dx, ...Object.values(grads)]);
    return out;
  } finally {
    tf.dispose([x, w]);
    layer.weights.forEach((v) => v.dispose());
    setFusedBatchNorm(true);
  }
}

before(async () => {
  registerWasmGradients();
  await tf.setBackend('wasm');
  await tf.ready();
});

after(() => setWasmKernelSet('simd'));

describe('batch norm in training mode as one op matches tfjs’s composition', () => {
  // Xception-like activations (channels multiples of 4: the SIMD kernels), channels off the lane
  // width (the JavaScript fallback on wasm), a dense layer's [batch, units], and one row per channel
  // block boundary (64 rows) crossed unevenly.
  const shapes = [
    [4, 6, 6, 184],
    [2, 9, 9, 32],
    [3, 5, 5, 6],
    [16, 12],
    [131, 8],
    [2, 3, 3, 5],
  ];
  for (const shape of shapes) {
    for (const backend of ['wasm', 'cpu']) {
      it(`${backend} [${shape}]`, async () => {
        const seed = shape.reduce((a, b) => 31 * a + b, 7);
        const want = await trainingCall('cpu', false, shape, seed);
        const got = await trainingCall(backend, true, shape, seed);
        assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * Math.max(1, Math.abs(want.loss)));
        for (const key of ['dx', 'dGamma', 'dBeta', 'movingMean', 'movingVariance'] as const) {
          const err = relative(got[key], want[key]);
          assert.ok(err < 2e-5, `${key}: relative error ${err}`);
        }
      });
    }
  }
});

describe('the op itself', () => {
  it('gives the batch statistics and passes gradients through them too', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const rng = new Rng(5);
      const shape = [2, 4, 4, 8];
      const x = tf.tensor(values(rng, 256, 1.5, -2), shape);
      const gamma = tf.tensor1d(values(rng, 8, 0.2, 1));
      const beta = tf.tensor1d(values(rng, 8));
      const a = tf.tensor1d(values(rng, 8));
      const b = tf.tensor1d(values(rng, 8));
      const w = tf.tensor(values(rng, 256), shape);
      // A loss that reads the statistics as well as y.
      const loss = (input: tf.Tensor, fused: boolean) => {
        if (fused) {
          const [y, mean, variance] = batchNormTraining(input, gamma, beta, 1e-3);
          return tf.addN([
            tf.sum(tf.mul(y, w)),
            tf.sum(tf.mul(mean, a)),
            tf.sum(tf.mul(variance, b)),
          ]);
        }
        const { mean, variance } = tf.moments(input, [0, 1, 2]);
        const y = tf.batchNorm(input, mean, variance, beta, gamma, 1e-3);
        return tf.addN([
          tf.sum(tf.mul(y, w)),
          tf.sum(tf.mul(mean, a)),
          tf.sum(tf.mul(variance, b)),
        ]);
      };
      const [, mean, variance] = batchNormTraining(x, gamma, beta, 1e-3);
      const moments = tf.moments(x, [0, 1, 2]);
      assert.ok(relative(mean.dataSync(), moments.mean.dataSync()) < 1e-6);
      assert.ok(relative(variance.dataSync(), moments.variance.dataSync()) < 1e-5);
      const got = tf.grad((t: tf.Tensor) => loss(t, true))(x);
      const want = tf.grad((t: tf.Tensor) => loss(t, false))(x);
      assert.ok(relative(got.dataSync(), want.dataSync()) < 1e-5, backend);
      tf.dispose([x, gamma, beta, a, b, w, mean, variance, moments.mean, moments.variance]);
      tf.dispose([got, want]);
    }
  });

  it('leaves no tensor behind, whichever gradients are asked for', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const x = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 1);
      const gamma = tf.variable(tf.ones([8]));
      const beta = tf.variable(tf.zeros([8]));
      const f = () => tf.sum(tf.square(batchNormTraining(x, gamma, beta, 1e-3)[0])) as tf.Scalar;
      for (const vars of [[gamma], [beta], [gamma, beta]]) {
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(f, vars);
        tf.dispose([value, ...Object.values(grads)]);
        assert.equal(tf.memory().numTensors, before, `${backend}: ${vars.length} variables`);
      }
      const before = tf.memory().numTensors;
      const g = (t: tf.Tensor) => tf.sum(tf.square(batchNormTraining(t, gamma, beta, 1e-3)[0]));
      tf.dispose(tf.grad(g)(x));
      assert.equal(tf.memory().numTensors, before, `${backend}: dx only`);
      tf.dispose([x, gamma, beta]);
    }
  });

  it('names the argument whose shape is wrong', async () => {
    await tf.setBackend('cpu');
    const x = tf.zeros([2, 4, 4, 8]);
    assert.throws(
      () => batchNormTraining(x, tf.ones([6]), tf.zeros([8]), 1e-3),
      /batchNormTraining: scale must have shape \[8\].*got \[6\]/,
    );
    assert.throws(
      () => batchNormTraining(tf.zeros([8]), tf.ones([8]), tf.zeros([8]), 1e-3),
      /x must be float32 of rank >= 2/,
    );
    x.dispose();
  });

  it('runs where its kernels are and the setting allows: wasm with the simd set, and cpu', () => {
    assert.equal(fusedBatchNormAvailable('cpu'), true);
    assert.equal(fusedBatchNormAvailable('wasm'), true);
    assert.equal(fusedBatchNormAvailable('webgpu'), false);
    setWasmKernelSet('composed');
    assert.equal(fusedBatchNormAvailable('wasm'), false);
    assert.equal(fusedBatchNormAvailable('cpu'), true);
    setWasmKernelSet('simd');
    setFusedBatchNorm(false);
    assert.equal(fusedBatchNormAvailable('cpu'), false);
    setFusedBatchNorm(true);
  });
});

describe('which path a training call takes', () => {
  it('the op on wasm (simd set) and cpu; tfjs’s composition when turned off or composed', async () => {
    const kernelsOf = async (backend: string) => {
      await tf.setBackend(backend);
      const layer = new KerasBatchNormalization({});
      layer.build([2, 3, 3, 8]);
      const x = tf.ones([2, 3, 3, 8]);
      const info = await tf.profile(() => layer.apply(x, { training: true }) as tf.Tensor);
      tf.dispose([x, ...layer.weights.map((w) => w.read())]);
      return info.kernelNames;
    };
    assert.ok((await kernelsOf('wasm')).includes('ArtstyleBatchNormTraining'));
    assert.ok((await kernelsOf('cpu')).includes('ArtstyleBatchNormTraining'));
    setWasmKernelSet('composed');
    const composed = await kernelsOf('wasm');
    setWasmKernelSet('simd');
    assert.ok(
      !composed.includes('ArtstyleBatchNormTraining') && composed.includes('FusedBatchNorm'),
    );
    setFusedBatchNorm(false);
    const off = await kernelsOf('cpu');
    setFusedBatchNorm(true);
    assert.ok(!off.includes('ArtstyleBatchNormTraining') && off.includes('FusedBatchNorm'));
  });
});

describe('a frozen batch norm is untouched by the op', () => {
  it('normalises with its moving statistics and moves none of them', async () => {
    await tf.setBackend('wasm');
    const layer = new KerasBatchNormalization({});
    layer.build([2, 3, 3, 4]);
    layer.setWeights([tf.ones([4]), tf.zeros([4]), tf.fill([4], 0.5), tf.fill([4], 4)]);
    layer.trainable = false;
    const x = tf.fill([2, 3, 3, 4], 2.5);
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    // (2.5 - 0.5) / sqrt(4 + 0.001)
    assert.ok(Math.abs(y.dataSync()[0]! - 2 / Math.sqrt(4.001)) < 1e-6);
    const [, , mean, variance] = layer.getWeights();
    assert.deepEqual(Array.from(mean!.dataSync()), [0.5, 0.5, 0.5, 0.5]);
    assert.deepEqual(Array.from(variance!.dataSync()), [4, 4, 4, 4]);
    tf.dispose([x, y]);
    layer.weights.forEach((v) => v.dispose());
  });
});
