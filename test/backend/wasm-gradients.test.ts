import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  registerWasmGradients,
  setWasmKernelSet,
  WASM_GRADIENT_KERNELS,
} from '../../lib/backend/wasm-gradients';
import { Rng } from '../../lib/util/rng';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  kernel: string;
  inputs: Record<string, { shape: number[]; values: Float32Array }>;
  attrs: Record<string, unknown>;
  label: string;
}

/** Values in ±[0.1, 1): never zero, so a dropped term cannot hide behind a zero factor. */
function randomValues(rng: Rng, shape: number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() < 0.5 ? -1 : 1) * rng.range(0.1, 1);
  return out;
}

function outSize(size: number, k: number, stride: number, pad: Pad, axis: 0 | 1): number {
  if (pad === 'same') return Math.ceil(size / stride);
  if (pad === 'valid') return Math.floor((size - k) / stride) + 1;
  const [before, after] = typeof pad === 'number' ? [pad, pad] : pad[axis + 1]!;
  return Math.floor((size + before + after - k) / stride) + 1;
}

/** Random shapes for one configuration; a convolution of `k` on them is always non-empty. */
function makeCase(
  rng: Rng,
  kernel: string,
  k: number,
  stride: number,
  pad: Pad,
  heights: [number, number],
): Case {
  const depthwise = kernel.startsWith('Depthwise');
  const n = 1 + rng.int(3);
  const [h, w] = heights;
  const ci = 1 + rng.int(5);
  const co = depthwise ? 1 : 1 + rng.int(5);
  const filterShape = [k, k, ci, co];
  const oh = outSize(h, k, stride, pad, 0);
  const ow = outSize(w, k, stride, pad, 1);
  const xShape = [n, h, w, ci];
  const dyShape = [n, oh, ow, depthwise ? ci : co];
  const common = { strides: [stride, stride], pad, dimRoundingMode: undefined };
  const attrs: Record<string, unknown> = depthwise
    ? { ...common, dilations: [1, 1] }
    : { ...common, dataFormat: 'NHWC' };
  const label = `${kernel} k=${k} s=${stride} pad=${JSON.stringify(pad)} x=${xShape} dy=${dyShape}`;
  const dy = { shape: dyShape, values: randomValues(rng, dyShape) };
  if (kernel.endsWith('Filter')) {
    return {
      kernel,
      inputs: { x: { shape: xShape, values: randomValues(rng, xShape) }, dy },
      attrs: { ...attrs, filterShape },
      label,
    };
  }
  return {
    kernel,
    inputs: { dy, filter: { shape: filterShape, values: randomValues(rng, filterShape) } },
    attrs: { ...attrs, inputShape: xShape },
    label,
  };
}

async function runOn(backend: string, c: Case): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const inputs: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(c.inputs)) inputs[name] = tf.tensor(v.values, v.shape);
  const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { shape: out.shape, values: out.dataSync() as Float32Array };
  tf.dispose([out, ...Object.values(inputs)]);
  return result;
}

/** max |wasm - cpu| / max |cpu|: relative to the gradient's scale, robust to cancellation. */
async function relativeError(c: Case): Promise<number> {
  const want = await runOn('cpu', c);
  const got = await runOn('wasm', c);
  assert.deepEqual(got.shape, want.shape, c.label);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < want.values.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got.values[i]! - want.values[i]!));
    maxRef = Math.max(maxRef, Math.abs(want.values[i]!));
  }
  assert.ok(maxRef > 0, `${c.label}: reference gradient is all zeros`);
  return maxDiff / maxRef;
}

before(async () => {
  registerWasmGradients();
  await tf.setBackend('wasm');
  await tf.ready();
});

/** Sizes that make 'same' padding asymmetric (odd), symmetric (even), and stride 2 both ways. */
function sizesFor(rng: Rng, k: number): Array<[number, number]> {
  const base = Math.max(k, 4);
  const odd = base + (base % 2 === 0 ? 1 : 0) + 2 * rng.int(3);
  const even = odd + 1;
  return [
    [odd, odd],
    [even, even],
    [odd, even],
  ];
}

const CONFIGS: Array<{ k: number; stride: number; pad: Pad }> = [];
for (const k of [1, 3, 7])
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as const) CONFIGS.push({ k, stride, pad });
CONFIGS.push({ k: 3, stride: 1, pad: 1 });
CONFIGS.push({
  k: 3,
  stride: 2,
  pad: [
    [0, 0],
    [1, 2],
    [0, 1],
    [0, 0],
  ],
});
CONFIGS.push({
  k: 7,
  stride: 2,
  pad: [
    [0, 0],
    [3, 3],
    [3, 3],
    [0, 0],
  ],
});
CONFIGS.push({
  k: 1,
  stride: 2,
  pad: [
    [0, 0],
    [1, 0],
    [0, 1],
    [0, 0],
  ],
});

const TOLERANCE = 1e-4;

const CONV_KERNELS = [
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
];

for (const kernel of CONV_KERNELS) {
  describe(`${kernel} on wasm matches cpu`, () => {
    for (const cfg of CONFIGS) {
      const name = `k=${cfg.k} stride=${cfg.stride} pad=${JSON.stringify(cfg.pad)}`;
      it(name, async () => {
        const rng = new Rng(7).fork(`${kernel} ${name}`);
        for (const heights of sizesFor(rng, cfg.k)) {
          const c = makeCase(rng, kernel, cfg.k, cfg.stride, cfg.pad, heights);
          const err = await relativeError(c);
          assert.ok(err < TOLERANCE, `${c.label}: relative error ${err}`);
        }
      });
    }
  });
}

describe('pointwise filter gradient takes both matrix-product orientations', () => {
  for (const [ci, co] of [
    [6, 2],
    [2, 6],
  ] as const) {
    for (const stride of [1, 2]) {
      it(`ci=${ci} co=${co} stride=${stride}`, async () => {
        const rng = new Rng(17 + ci + stride);
        const c = makeCase(rng, tf.Conv2DBackpropFilter, 1, stride, 'same', [7, 8]);
        const n = c.inputs['x']!.shape[0]!;
        const dyShape = c.inputs['dy']!.shape;
        const xShape = [n, 7, 8, ci];
        c.inputs['x'] = { shape: xShape, values: randomValues(rng, xShape) };
        c.inputs['dy'] = {
          shape: [n, dyShape[1]!, dyShape[2]!, co],
          values: randomValues(rng, [n, dyShape[1]!, dyShape[2]!, co]),
        };
        c.attrs['filterShape'] = [1, 1, ci, co];
        const err = await relativeError(c);
        assert.ok(err < TOLERANCE, `relative error ${err}`);
      });
    }
  }
});

describe('MaxPoolGrad on wasm matches cpu, negative windows and ties included', () => {
  const pools: Array<{ k: number; stride: number; pad: Pad }> = [
    { k: 3, stride: 2, pad: 'same' },
    { k: 3, stride: 2, pad: 'valid' },
    { k: 2, stride: 2, pad: 'valid' },
    { k: 3, stride: 1, pad: 'same' },
    {
      k: 3,
      stride: 2,
      pad: [
        [0, 0],
        [1, 1],
        [0, 1],
        [0, 0],
      ],
    },
  ];
  for (const { k, stride, pad } of pools) {
    it(`k=${k} stride=${stride} pad=${JSON.stringify(pad)}`, async () => {
      const rng = new Rng(23).fork(`${k} ${stride} ${JSON.stringify(pad)}`);
      for (const [h, w] of [
        [9, 9],
        [8, 8],
        [7, 10],
      ] as const) {
        const xShape = [2, h, w, 3];
        // Mostly negative values (windows whose maximum is below zero), a third of them
        // rounded to one decimal so that windows hold ties.
        const values = randomValues(rng, xShape).map((v, i) => {
          const shifted = v - 0.6;
          return i % 3 === 0 ? Math.round(shifted * 10) / 10 : shifted;
        });
        const oh = outSize(h, k, stride, pad, 0);
        const ow = outSize(w, k, stride, pad, 1);
        const dyShape = [2, oh, ow, 3];
        const c: Case = {
          kernel: tf.MaxPoolGrad,
          inputs: {
            dy: { shape: dyShape, values: randomValues(rng, dyShape) },
            input: { shape: xShape, values },
            // The kernel ignores `output`; any tensor of the right shape will do.
            output: { shape: dyShape, values: randomValues(rng, dyShape) },
          },
          attrs: { filterSize: k, strides: stride, pad, dimRoundingMode: undefined },
          label: `MaxPoolGrad k=${k} s=${stride} pad=${JSON.stringify(pad)} x=${xShape}`,
        };
        const err = await relativeError(c);
        assert.ok(err < TOLERANCE, `${c.label}: relative error ${err}`);
      }
    });
  }
});

describe('MaxPoolGrad in SIMD (channels a multiple of 4) is the JavaScript kernel bit for bit, and cpu', () => {
  const pools: Array<{ k: number; stride: number; pad: Pad; x: number[] }> = [
    { k: 3, stride: 2, pad: 'same', x: [2, 9, 9, 8] }, // Xception's pools
    { k: 3, stride: 2, pad: 'same', x: [2, 8, 8, 12] },
    { k: 2, stride: 2, pad: 'valid', x: [1, 7, 10, 4] },
    { k: 3, stride: 1, pad: 'same', x: [2, 5, 6, 16] },
    {
      k: 3,
      stride: 2,
      pad: [
        [0, 0],
        [1, 1],
        [0, 1],
        [0, 0],
      ],
      x: [1, 7, 8, 4],
    },
  ];
  for (const { k, stride, pad, x: xShape } of pools) {
    it(`k=${k} stride=${stride} pad=${JSON.stringify(pad)} x=${xShape}`, async () => {
      const rng = new Rng(29).fork(`${k} ${stride} ${JSON.stringify(pad)} ${xShape}`);
      const [, h, w] = xShape as [number, number, number, number];
      const oh = outSize(h, k, stride, pad, 0);
      const ow = outSize(w, k, stride, pad, 1);
      const dyShape = [xShape[0]!, oh, ow, xShape[3]!];
      // Mostly negative, many ties, and a few windows of -Infinity and NaN (which route nothing).
      const values = randomValues(rng, xShape).map((v, i) =>
        i % 37 === 0 ? -Infinity : i % 41 === 0 ? NaN : Math.round((v - 0.6) * 5) / 5,
      );
      const run = (set: 'simd' | 'composed'): Float32Array => {
        setWasmKernelSet(set);
        const dy = tf.tensor(randomValues(new Rng(3), dyShape), dyShape);
        const input = tf.tensor(values, xShape);
        const out = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output: dy }, {
          filterSize: k,
          strides: stride,
          pad,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const result = out.dataSync() as Float32Array;
        tf.dispose([dy, input, out]);
        return result;
      };
      await tf.setBackend('wasm');
      const simd = run('simd');
      const js = run('composed');
      setWasmKernelSet('simd');
      assert.deepEqual(simd, js);
      assert.ok(simd.some((v) => v !== 0));
      // Without the -Infinity/NaN windows (which the cpu backend routes differently), cpu too:
      const clean = values.map((v) => (Number.isFinite(v) ? v : -5));
      values.set(clean);
      const cpuCase: Case = {
        kernel: tf.MaxPoolGrad,
        inputs: {
          dy: { shape: dyShape, values: randomValues(new Rng(3), dyShape) },
          input: { shape: xShape, values },
          output: { shape: dyShape, values: randomValues(new Rng(3), dyShape) },
        },
        attrs: { filterSize: k, strides: stride, pad, dimRoundingMode: undefined },
        label: 'MaxPoolGrad',
      };
      // The cpu backend sums each dx over its windows in another order: float rounding apart.
      const err = await relativeError(cpuCase);
      assert.ok(err < 1e-6, `relative error ${err} against cpu`);
    });
  }
});

describe('Identity and same-dtype Cast share their input’s data on the simd set', () => {
  it('no copy, correct reference counts, real conversions kept', async () => {
    await tf.setBackend('wasm');
    const backend = tf.engine().backend;
    const x = tf.tensor([1.5, -2, 3], [3]);
    let before = backend.numDataIds();
    const clone = tf.clone(x);
    const same = tf.cast(x, 'float32');
    assert.equal(backend.numDataIds(), before, 'no new buffer');
    x.dispose();
    assert.deepEqual(Array.from(clone.dataSync()), [1.5, -2, 3]);
    clone.dispose();
    assert.deepEqual(Array.from(same.dataSync()), [1.5, -2, 3]);
    same.dispose();
    const ints = tf.tensor([1, 2, 3], [3], 'int32');
    const floats = tf.cast(ints, 'float32');
    assert.equal(floats.dtype, 'float32');
    assert.deepEqual(Array.from(floats.dataSync()), [1, 2, 3]);
    setWasmKernelSet('composed');
    before = backend.numDataIds();
    const copy = tf.clone(floats);
    assert.equal(backend.numDataIds(), before + 1, 'the composed set copies');
    setWasmKernelSet('simd');
    tf.dispose([ints, floats, copy]);
  });
});

describe('Tile on wasm matches cpu', () => {
  const cases: Array<[number[], number[], 'float32' | 'int32' | 'bool']> = [
    [[1, 1, 1, 5], [3, 4, 7, 1], 'float32'], // a batch-norm gradient's per-channel vector
    [[2, 3, 4, 5], [2, 1, 3, 2], 'float32'],
    [[3, 1, 2], [1, 5, 1], 'int32'],
    [[4], [3], 'bool'],
    [[2, 3], [1, 1], 'float32'],
  ];
  for (const [shape, reps, dtype] of cases) {
    it(`${dtype} [${shape}] x [${reps}]`, async () => {
      const rng = new Rng(shape.length * 31 + reps[0]!);
      const values = randomValues(rng, shape).map((v) =>
        dtype === 'float32' ? v : dtype === 'int32' ? Math.round(v * 100) : v > 0 ? 1 : 0,
      );
      const results: number[][] = [];
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const x = tf.tensor(Array.from(values), shape, dtype);
        const out = tf.tile(x, reps);
        results.push(Array.from(out.dataSync()));
        tf.dispose([x, out]);
      }
      assert.deepEqual(results[1], results[0]);
    });
  }
});

describe('wasm gradient kernels: bookkeeping', () => {
  it('free every intermediate: the backend holds only the inputs and the result', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(11);
    for (const kernel of CONV_KERNELS) {
      const c = makeCase(rng, kernel, 3, 2, 'same', [9, 8]);
      const inputs = Object.fromEntries(
        Object.entries(c.inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]),
      );
      const before = tf.engine().backend.numDataIds();
      const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as tf.NamedAttrMap) as tf.Tensor;
      assert.equal(tf.engine().backend.numDataIds(), before + 1, kernel);
      tf.dispose([out, ...Object.values(inputs)]);
    }
  });

  it('registering twice changes nothing and warns about nothing', () => {
    registerWasmGradients();
    const funcs = WASM_GRADIENT_KERNELS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    const warn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      registerWasmGradients();
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, []);
    WASM_GRADIENT_KERNELS.forEach((k, i) => {
      assert.equal(tf.getKernel(k, 'wasm')?.kernelFunc, funcs[i], k);
      assert.ok(funcs[i], `${k} is registered`);
    });
  });

  it('reject unsupported attributes with a message naming kernel and attribute', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(5);
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      [tf.Conv2DBackpropFilter, { dataFormat: 'NCHW' }, /Conv2DBackpropFilter.*dataFormat/],
      [tf.Conv2DBackpropInput, { dataFormat: 'NCHW' }, /Conv2DBackpropInput.*dataFormat/],
      [
        tf.DepthwiseConv2dNativeBackpropFilter,
        { dilations: [2, 2] },
        /DepthwiseConv2dNativeBackpropFilter.*dilations/,
      ],
      [
        tf.DepthwiseConv2dNativeBackpropInput,
        { dilations: 2 },
        /DepthwiseConv2dNativeBackpropInput.*dilations/,
      ],
    ];
    for (const [kernel, override, pattern] of bad) {
      const c = makeCase(rng, kernel, 3, 1, 'same', [6, 6]);
      const inputs = Object.fromEntries(
        Object.entries(c.inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]),
      );
      assert.throws(
        () => tf.engine().runKernel(kernel, inputs, { ...c.attrs, ...override } as tf.NamedAttrMap),
        pattern,
      );
      tf.dispose(Object.values(inputs));
    }
    // Depth multiplier 2: filter [3, 3, ci, 2].
    const x = tf.ones([1, 5, 5, 2]);
    const dy = tf.ones([1, 5, 5, 4]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            tf.DepthwiseConv2dNativeBackpropFilter,
            { x, dy },
            { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 2, 2] },
          ),
      /DepthwiseConv2dNativeBackpropFilter.*multiplier/,
    );
    const filter = tf.ones([3, 3, 2, 2]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            tf.DepthwiseConv2dNativeBackpropInput,
            { dy, filter },
            { strides: 1, pad: 'same', dilations: 1, inputShape: [1, 5, 5, 2] },
          ),
      /DepthwiseConv2dNativeBackpropInput.*multiplier/,
    );
    tf.dispose([x, dy, filter]);
  });

  it('make tf.grad of conv2d and depthwiseConv2d work on wasm and agree with cpu', async () => {
    const rng = new Rng(3);
    const xv = randomValues(rng, [2, 9, 9, 3]);
    const fv = randomValues(rng, [3, 3, 3, 4]);
    const dv = randomValues(rng, [3, 3, 4, 1]);
    const grads = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xv, [2, 9, 9, 3]);
      const f = tf.tensor4d(fv, [3, 3, 3, 4]);
      const d = tf.tensor4d(dv, [3, 3, 4, 1]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) =>
        tf
          .depthwiseConv2d(
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'),
            e as tf.Tensor4D,
            1,
            'same',
          )
          .square()
          .sum(),
      )([x, f, d]);
      const out = g.map((t) => t.dataSync() as Float32Array);
      tf.dispose([x, f, d, ...g]);
      return out;
    };
    const want = await grads('cpu');
    const got = await grads('wasm');
    want.forEach((w, i) => {
      const scale = Math.max(...w.map(Math.abs));
      const diff = Math.max(...w.map((v, j) => Math.abs(v - got[i]![j]!)));
      assert.ok(diff / scale < TOLERANCE, `gradient ${i}: relative error ${diff / scale}`);
    });
  });
});
