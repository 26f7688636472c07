import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { compileWat } from '../../scripts/gemm-wat';
import { trainKernelsWat } from '../../scripts/train-kernels-wat';
import {
  columnSum,
  depthwiseFilterGradient,
  trainKernelsAvailable,
} from '../../lib/backend/train-kernels';
import { TRAIN_KERNELS_WASM_BASE64 } from '../../lib/backend/train-kernels-wasm';
import {
  registerWasmGradients,
  setWasmKernelSet,
  parseWasmKernelSet,
  wasmKernelSet,
} from '../../lib/backend/wasm-gradients';
import { Rng } from '../../lib/util/rng';

function randomValues(rng: Rng, shape: number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() < 0.5 ? -1 : 1) * rng.range(0.1, 1);
  return out;
}

async function run(
  backend: string,
  f: () => tf.Tensor,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const result = { shape: out.shape, values: out.dataSync() as Float32Array };
  out.dispose();
  return result;
}

function relativeError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
  }
  assert.ok(ref > 0, 'reference is all zeros');
  return diff / ref;
}

before(async () => {
  registerWasmGradients();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('SIMD training kernels', () => {
  it('the committed module is the compiled text of scripts/train-kernels-wat.ts', async () => {
    const bytes = await compileWat('train-kernels.wat', trainKernelsWat());
    assert.equal(Buffer.from(bytes).toString('base64'), TRAIN_KERNELS_WASM_BASE64);
  });

  it('run on the wasm backend of this runtime; the SIMD set is the default', async () => {
    await tf.setBackend('wasm');
    assert.equal(trainKernelsAvailable(tf.backend()), true);
    if (process.env['ARTSTYLE_WASM_KERNELS'] === undefined) assert.equal(wasmKernelSet(), 'simd');
    assert.throws(() => setWasmKernelSet('fast' as never), /setWasmKernelSet.*"fast"/);
    assert.equal(parseWasmKernelSet(undefined), 'simd');
    assert.equal(parseWasmKernelSet(''), 'simd');
    assert.equal(parseWasmKernelSet('simd'), 'simd');
    assert.equal(parseWasmKernelSet('composed'), 'composed');
    assert.throws(() => parseWasmKernelSet('fast'), /ARTSTYLE_WASM_KERNELS.*"fast"/);
  });
});

// Xception's depthwise layers (3x3, stride 1, 'same'; channels multiples of 8) at teaching-like
// sizes, plus strides, 'valid', explicit padding and channel counts off the 4-lane width.
const DEPTHWISE: Array<{
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  s: number;
  pad: 'same' | 'valid' | number;
}> = [
  { n: 4, h: 24, w: 24, c: 32, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 12, w: 12, c: 184, k: 3, s: 1, pad: 'same' },
  { n: 3, h: 11, w: 9, c: 8, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 10, w: 13, c: 16, k: 3, s: 2, pad: 'valid' },
  { n: 2, h: 9, w: 9, c: 6, k: 3, s: 1, pad: 'same' },
  { n: 1, h: 8, w: 7, c: 5, k: 5, s: 2, pad: 1 },
  { n: 2, h: 7, w: 7, c: 12, k: 1, s: 2, pad: 'same' },
];

describe('depthwise filter gradient (SIMD) matches cpu', () => {
  for (const d of DEPTHWISE) {
    const label = `x=[${d.n},${d.h},${d.w},${d.c}] k=${d.k} s=${d.s} pad=${d.pad}`;
    it(label, async () => {
      const rng = new Rng(41).fork(label);
      const x = randomValues(rng, [d.n, d.h, d.w, d.c]);
      const probe = tf.depthwiseConv2d(
        tf.zeros([d.n, d.h, d.w, d.c]) as tf.Tensor4D,
        tf.zeros([d.k, d.k, d.c, 1]) as tf.Tensor4D,
        d.s,
        d.pad,
      );
      const dyShape = probe.shape;
      probe.dispose();
      const dy = randomValues(rng, dyShape);
      const grad = (): tf.Tensor =>
        tf
          .engine()
          .runKernel(
            tf.DepthwiseConv2dNativeBackpropFilter,
            { x: tf.tensor4d(x, [d.n, d.h, d.w, d.c]), dy: tf.tensor(dy, dyShape) },
            {
              strides: [d.s, d.s],
              pad: d.pad,
              dilations: [1, 1],
              dimRoundingMode: undefined,
              filterShape: [d.k, d.k, d.c, 1],
            } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
      const want = await run('cpu', grad);
      setWasmKernelSet('simd');
      const got = await run('wasm', grad);
      setWasmKernelSet('composed');
      const composed = await run('wasm', grad);
      setWasmKernelSet('simd');
      assert.deepEqual(got.shape, want.shape);
      const err = relativeError(got.values, want.values);
      assert.ok(err < 1e-5, `${label}: relative error ${err}`);
      assert.ok(relativeError(composed.values, want.values) < 1e-4);
    });
  }

  it('is the kernel the simd set runs (bit-identical to a direct call)', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(3);
    const x = tf.tensor4d(randomValues(rng, [2, 6, 6, 8]), [2, 6, 6, 8]);
    const dy = tf.tensor4d(randomValues(rng, [2, 6, 6, 8]), [2, 6, 6, 8]);
    const viaEngine = tf
      .engine()
      .runKernel(
        tf.DepthwiseConv2dNativeBackpropFilter,
        { x, dy },
        { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 8, 1] },
      ) as tf.Tensor;
    const info = depthwiseFilterGradient(tf.backend(), x, dy, {
      batch: 2,
      inHeight: 6,
      inWidth: 6,
      outHeight: 6,
      outWidth: 6,
      filterHeight: 3,
      filterWidth: 3,
      strideHeight: 1,
      strideWidth: 1,
      padTop: 1,
      padLeft: 1,
    })!;
    const direct = tf.engine().makeTensorFromTensorInfo(info);
    assert.deepEqual(Array.from(direct.dataSync()), Array.from(viaEngine.dataSync()));
    tf.dispose([x, dy, viaEngine, direct]);
  });
});

describe('Sum and Mean over leading axes (SIMD) match cpu; other cases keep wasm’s own', () => {
  const cases: Array<{ shape: number[]; axis: number[]; keepDims: boolean; dtype?: 'int32' }> = [
    { shape: [4, 12, 12, 16], axis: [0, 1, 2], keepDims: true },
    { shape: [4, 12, 12, 16], axis: [2, 0, 1], keepDims: false },
    { shape: [16, 47, 47, 8], axis: [0, 1, 2], keepDims: false },
    { shape: [130, 8], axis: [0], keepDims: false },
    { shape: [65, 4], axis: [0], keepDims: true },
    { shape: [3, 5, 8], axis: [0, 1], keepDims: false },
    { shape: [3, 5, 2, 6], axis: [0, 1], keepDims: false },
    { shape: [7, 6], axis: [0], keepDims: false },
    { shape: [4, 5, 8], axis: [1, 2], keepDims: false },
    { shape: [4, 5, 8], axis: [0, 1, 2], keepDims: false },
    { shape: [6, 8], axis: [0], keepDims: false, dtype: 'int32' },
  ];
  for (const c of cases) {
    for (const op of ['sum', 'mean'] as const) {
      const label = `${op} ${c.dtype ?? 'float32'} [${c.shape}] axis [${c.axis}] keepDims ${c.keepDims}`;
      it(label, async () => {
        const rng = new Rng(5).fork(label);
        const values = randomValues(rng, c.shape).map((v) => (c.dtype ? Math.round(v * 50) : v));
        const f = (): tf.Tensor => {
          const x = tf.tensor(values, c.shape, c.dtype ?? 'float32');
          return op === 'sum' ? tf.sum(x, c.axis, c.keepDims) : tf.mean(x, c.axis, c.keepDims);
        };
        const want = await run('cpu', f);
        const got = await run('wasm', f);
        assert.deepEqual(got.shape, want.shape);
        const err = relativeError(got.values, want.values);
        assert.ok(err < 1e-5, `${label}: relative error ${err}`);
      });
    }
  }

  it('columnSum declines what it cannot do (channels not a multiple of 4, int32)', async () => {
    await tf.setBackend('wasm');
    const a = tf.ones([3, 6]);
    const b = tf.ones([3, 8], 'int32');
    assert.equal(columnSum(tf.backend(), a, 1, [6], false), null);
    assert.equal(columnSum(tf.backend(), b, 1, [8], false), null);
    tf.dispose([a, b]);
  });
});
