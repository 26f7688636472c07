import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fusedOptimizersAvailable, setFusedOptimizers } from '../../lib/backend/optimizer-kernels';
import { registerWasmGradients, setWasmKernelSet } from '../../lib/backend/wasm-gradients';
import { makeOptimizer, type OptimizerSpec } from '../../lib/train/optimizers';
import { Rng } from '../../lib/util/rng';

// Sizes on and off the SIMD lane width (4), and a scalar.
const SHAPES = [[3, 3, 8, 16], [7], [5, 3], []];

let calls = 0;

/** Five updates of four variables with seeded gradients; the final weights and slots. */
async function updates(backend: string, spec: OptimizerSpec, fused: boolean) {
  await tf.setBackend(backend);
  setFusedOptimizers(fused);
  try {
    const rng = new Rng(17);
    const make = (shape: number[]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(
        Float32Array.from({ length: n }, () => rng.normal()),
        shape,
      );
    };
    const id = ++calls;
    const vars = SHAPES.map((shape, i) => tf.variable(make(shape), true, `w${i}_${id}`));
    const optimizer = makeOptimizer(spec);
    for (let step = 0; step < 5; step++) {
      const grads: tf.NamedTensorMap = {};
      vars.forEach((v, i) => {
        // One variable has a null gradient on one step: it keeps its value and slots.
        grads[v.name] = step === 2 && i === 1 ? (null as unknown as tf.Tensor) : make(v.shape);
      });
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads).filter((g) => g !== null));
    }
    const values = vars.map((v) => Array.from(v.dataSync()));
    const slots = (await optimizer.getWeights()).map((w) => ({
      name: w.name.replace(/_\d+\//, '/'),
      values: Array.from(w.tensor.dataSync()),
    }));
    optimizer.dispose();
    tf.dispose(vars);
    return { values, slots };
  } finally {
    setFusedOptimizers(true);
  }
}

before(async () => {
  registerWasmGradients();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('the fused optimizer updates are tfjs’s, bit for bit', () => {
  const specs: OptimizerSpec[] = [
    { kind: 'sgd', lr: 3e-3, momentum: 0.9 },
    { kind: 'rmsprop', lr: 1e-3 },
  ];
  for (const spec of specs)
    for (const backend of ['wasm', 'cpu'])
      it(`${spec.kind} on ${backend}`, async () => {
        const fused = await updates(backend, spec, true);
        const own = await updates(backend, spec, false);
        assert.deepEqual(fused, own);
        assert.ok(fused.values[0]!.some((v, i) => v !== fused.values[0]![i + 1]));
      });
});

describe('where the fused updates run', () => {
  it('wasm with the simd set and cpu; tfjs’s own when turned off or composed', () => {
    assert.equal(fusedOptimizersAvailable('wasm'), true);
    assert.equal(fusedOptimizersAvailable('cpu'), true);
    assert.equal(fusedOptimizersAvailable('webgpu'), false);
    setWasmKernelSet('composed');
    assert.equal(fusedOptimizersAvailable('wasm'), false);
    setWasmKernelSet('simd');
    setFusedOptimizers(false);
    assert.equal(fusedOptimizersAvailable('cpu'), false);
    setFusedOptimizers(true);
  });

  it('one kernel call per variable on wasm', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.ones([8]));
    const optimizer = makeOptimizer({ kind: 'sgd', lr: 0.1, momentum: 0.9 });
    const g = tf.ones([8]);
    const info = await tf.profile(() => optimizer.applyGradients({ [v.name]: g }));
    assert.deepEqual(
      info.kernelNames.filter((k) => k !== 'ZerosLike' && k !== 'Identity'),
      ['ArtstyleMomentumUpdate'],
    );
    assert.deepEqual(Array.from(v.dataSync()).slice(0, 2), [0.9, 0.9].map(Math.fround));
    tf.dispose([v, g]);
    optimizer.dispose();
  });
});
