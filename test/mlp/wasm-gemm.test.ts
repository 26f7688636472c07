import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWat, gemmWat } from '../../scripts/gemm-wat';
import { GEMM_WASM_BASE64 } from '../../lib/mlp/gemm-wasm';
import { Matrix } from 'ml-matrix';
import { AdamNeuralNetwork } from '../../lib/mlp/adam';
import { Mat, matmul, matmulAT, matmulBT, toMatrix, transpose, zeros } from '../../lib/mlp/matrix';
import { SimpleNeuralNetwork } from '../../lib/mlp/snn';
import { adamUpdate, sgdUpdate } from '../../lib/mlp/updates';
import {
  createProducts,
  jsProducts,
  residentBytesFor,
  wasmSimdAvailable,
} from '../../lib/mlp/wasm-gemm';
import { ArtstyleError } from '../../lib/util/errors';
import { Rng } from '../../lib/util/rng';

const rng = new Rng(11);
function random(rows: number, cols: number, into?: Mat): Mat {
  const m = into ?? zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

/** Same values bit for bit (Object.is also tells 0 from -0). */
function assertBitIdentical(a: Mat, b: Mat, what: string): void {
  assert.equal(a.rows, b.rows, what);
  assert.equal(a.cols, b.cols, what);
  for (let i = 0; i < a.data.length; i++)
    if (!Object.is(a.data[i], b.data[i]))
      assert.fail(`${what}: element ${i} is ${a.data[i]} vs ${b.data[i]}`);
}

// m x k times k x n; sizes off the 4 x 4 tile and the 8 x 8 transpose tile, k = 0 and 1.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [5, 3, 7],
  [4, 0, 4],
  [7, 9, 2],
  [9, 8, 13],
  [33, 17, 30],
  [32, 100, 512],
  // A B^T with a large B: computed as (B A^T)^T (the dZ W^T of the backward pass).
  [3, 41, 53],
  [7, 61, 97],
  [29, 256, 510],
];

describe('WebAssembly SIMD matrix products', () => {
  it('is available in this runtime', () => {
    assert.equal(wasmSimdAvailable(), true);
  });

  it('gives bit-identical results to the JavaScript kernel, operands copied or resident', () => {
    for (const [m, k, n] of SHAPES) {
      const resident = createProducts({
        engine: 'wasm',
        residentBytes: 8 * (k * n + n * k + k * m) + 64,
      });
      const copied = createProducts({ engine: 'wasm' });
      const a = random(m, k);
      const at = random(k, m);
      const b = random(k, n);
      const bt = random(n, k);
      const rb = random(k, n, resident.alloc(k, n));
      const rbt = random(n, k, resident.alloc(n, k));
      const rat = random(k, m, resident.alloc(k, m));
      const shape = `${m}x${k}x${n}`;
      assertBitIdentical(copied.matmul(a, b), matmul(a, b), `A B ${shape}`);
      assertBitIdentical(copied.matmulBT(a, bt), matmulBT(a, bt), `A B^T ${shape}`);
      assertBitIdentical(copied.matmulAT(at, b), matmulAT(at, b), `A^T B ${shape}`);
      assertBitIdentical(resident.matmul(a, rb), matmul(a, rb), `A B resident ${shape}`);
      assertBitIdentical(resident.matmulBT(a, rbt), matmulBT(a, rbt), `A B^T resident ${shape}`);
      assertBitIdentical(resident.matmulAT(rat, b), matmulAT(rat, b), `A^T B resident ${shape}`);
    }
  });

  it('gives bit-identical results to ml-matrix mmul, which sums over k in the same order', () => {
    const fromMatrix = (x: Matrix): Mat => ({
      rows: x.rows,
      cols: x.columns,
      data: Float64Array.from(x.to1DArray()),
    });
    for (const [m, k, n] of SHAPES) {
      if (k === 0) continue;
      const products = createProducts({ engine: 'wasm' });
      const a = random(m, k);
      const b = random(k, n);
      const shape = `${m}x${k}x${n}`;
      const ref = fromMatrix(toMatrix(a).mmul(toMatrix(b)));
      for (const p of [products, jsProducts]) {
        assertBitIdentical(p.matmul(a, b), ref, `${p.name} A B ${shape}`);
        assertBitIdentical(p.matmulBT(a, transpose(b)), ref, `${p.name} A B^T ${shape}`);
        assertBitIdentical(p.matmulAT(transpose(a), b), ref, `${p.name} A^T B ${shape}`);
        const scaled = fromMatrix(
          toMatrix(a)
            .mmul(toMatrix(b))
            .mul(1 / 7),
        );
        assertBitIdentical(p.matmulAT(transpose(a), b, 1 / 7), scaled, `${p.name} scaled ${shape}`);
      }
    }
  });

  it('the SGD and Adam updates are bit-identical to the JavaScript loops, any length', () => {
    const k = {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      learningRate: 0.003,
      c1: 0.271,
      c2: 0.00399,
    };
    for (const n of [1, 2, 7, 33, 1000]) {
      const resident = createProducts({ engine: 'wasm', residentBytes: 4 * 8 * n + 64 });
      const w = random(1, n, resident.alloc(1, n));
      const m = random(1, n, resident.alloc(1, n));
      const v = resident.alloc(1, n);
      for (let i = 0; i < n; i++) v.data[i] = rng.uniform();
      const g = random(1, n);
      const [w0, m0, v0] = [w.data.slice(), m.data.slice(), v.data.slice()];
      resident.adam(w, g, m, v, k);
      adamUpdate(w0, g.data, m0, v0, k);
      assertBitIdentical(w, { rows: 1, cols: n, data: w0 }, `adam w, ${n}`);
      assertBitIdentical(m, { rows: 1, cols: n, data: m0 }, `adam m, ${n}`);
      assertBitIdentical(v, { rows: 1, cols: n, data: v0 }, `adam v, ${n}`);
      resident.sgd(w, g, 0.01);
      sgdUpdate(w0, g.data, 0.01);
      assertBitIdentical(w, { rows: 1, cols: n, data: w0 }, `sgd w, ${n}`);
      // Not resident: the JavaScript loop.
      const plain = random(1, n);
      const copy = plain.data.slice();
      resident.sgd(plain, g, 0.01);
      sgdUpdate(copy, g.data, 0.01);
      assertBitIdentical(plain, { rows: 1, cols: n, data: copy }, `sgd plain, ${n}`);
    }
  });

  it('splits a product too large for its scratch area into row blocks, else falls back', () => {
    // 4 KB of scratch: 512 values, far less than the 300 x 40 inputs.
    const small = createProducts({ engine: 'wasm', scratchBytes: 4096 });
    const a = random(300, 40);
    const b = random(40, 6);
    assertBitIdentical(small.matmul(a, b), matmul(a, b), 'row blocks');
    const at = random(300, 40);
    const b2 = random(300, 5);
    assertBitIdentical(small.matmulAT(at, b2), matmulAT(at, b2), 'fallback');
  });

  it('residentBytesFor sizes the weight area exactly: every weight fits, one more does not', () => {
    const shapes: [number, number][] = [
      [100, 512],
      [1, 512],
      [7, 3],
      [1, 3],
    ];
    const w = createProducts({ engine: 'wasm', residentBytes: residentBytesFor(shapes) });
    const mats = shapes.map(([r, c]) => w.alloc(r, c));
    const memory = (mats[0] as Mat).data.buffer;
    assert.ok(mats.every((m) => m.data.buffer === memory));
    assert.notEqual(w.alloc(1, 1).data.buffer, memory);
  });

  it('names the mismatched product and a bad engine', () => {
    const w = createProducts({ engine: 'wasm' });
    assert.throws(
      () => w.matmul(zeros(2, 3), zeros(4, 2)),
      (e: unknown) =>
        e instanceof ArtstyleError && e.subject === 'matmul' && /3 times 4x2/.test(e.message),
    );
    assert.throws(
      () => createProducts({ engine: 'gpu' as 'js' }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'engine',
    );
    assert.equal(createProducts({ engine: 'js' }), jsProducts);
    assert.equal(createProducts().name, 'wasm');
  });

  it('trains the SNN to bit-identical weights and losses on either engine', () => {
    const X = random(70, 12);
    const Y = zeros(70, 5);
    for (let i = 0; i < Y.data.length; i++) Y.data[i] = rng.uniform() < 0.3 ? 1 : 0;
    const nets = (['wasm', 'js'] as const).map((engine) => {
      const net = new SimpleNeuralNetwork({
        seed: 3,
        hiddenSizes: [16, 8],
        engine,
        weightScale: 0.3,
      });
      const losses = net.fit(X, Y, { epochs: 3, batchSize: 8 });
      assert.equal(net.engineUsed, engine);
      return { net, losses };
    });
    const [w, j] = nets as [(typeof nets)[number], (typeof nets)[number]];
    assert.deepEqual(w.losses, j.losses);
    assert.ok((w.losses[2] as number) < (w.losses[0] as number), `losses ${w.losses.join(', ')}`);
    for (const name of ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'] as const)
      assertBitIdentical(w.net.params?.[name] as Mat, j.net.params?.[name] as Mat, name);
  });

  it('trains Adam to bit-identical weights on either engine (moments in the engine memory)', () => {
    const X = random(45, 11);
    const Y = zeros(45, 3);
    for (let i = 0; i < Y.data.length; i++) Y.data[i] = rng.uniform() < 0.3 ? 1 : 0;
    const nets = (['wasm', 'js'] as const).map((engine) => {
      const net = new AdamNeuralNetwork({ seed: 5, hiddenSizes: [13, 7], engine });
      net.fit(X, Y, { epochs: 2, batchSize: 6 });
      return net;
    });
    for (const name of ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'] as const)
      assertBitIdentical(nets[0]?.params?.[name] as Mat, nets[1]?.params?.[name] as Mat, name);
  });

  it('the committed module is the compiled text of scripts/gemm-wat.ts', async () => {
    const bytes = await compileWat('gemm.wat', gemmWat());
    assert.equal(Buffer.from(bytes).toString('base64'), GEMM_WASM_BASE64);
  });
});
