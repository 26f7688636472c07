import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { PCA } from '../../lib/features/pca';
import { FeatureStore } from '../../lib/features/store';
import { Rng } from '../../lib/util/rng';

before(async () => {
  await tf.setBackend('cpu');
});

function lowRankPlusNoise(
  n: number,
  d: number,
  strengths: number[],
  noise: number,
  seed: number,
): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  for (const s of strengths) {
    const u = Array.from({ length: n }, () => rng.normal());
    const v = Array.from({ length: d }, () => rng.normal());
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) x[i * d + j] += s * (u[i] as number) * (v[j] as number);
  }
  for (let i = 0; i < x.length; i++) x[i] += noise * rng.normal() + 0.3;
  return x;
}

/** Cosines of the principal angles between the row spaces of two k x d bases (orthonormal rows). */
function principalCosines(a: Float64Array, b: Float64Array, k: number, d: number): number[] {
  const m = new Matrix(k, k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (a[i * d + c] as number) * (b[j * d + c] as number);
      m.set(i, j, s);
    }
  return new SingularValueDecomposition(m).diagonal;
}

test('exact PCA equals the SVD of the centred matrix (both n <= d and n > d)', async () => {
  for (const [n, d] of [
    [12, 20],
    [25, 7],
  ] as const) {
    const x = lowRankPlusNoise(n, d, [5, 3, 2], 0.5, n);
    const k = 4;
    const pca = await new PCA({ nComponents: k, svdSolver: 'full' }).fit({
      rows: n,
      cols: d,
      data: x,
    });
    const xc = new Matrix(n, d);
    for (let j = 0; j < d; j++) {
      let mu = 0;
      for (let i = 0; i < n; i++) mu += x[i * d + j] as number;
      mu /= n;
      for (let i = 0; i < n; i++) xc.set(i, j, (x[i * d + j] as number) - mu);
    }
    const svd = new SingularValueDecomposition(xc, { autoTranspose: true });
    let total = 0;
    for (const s of svd.diagonal) total += (s * s) / (n - 1);
    for (let j = 0; j < k; j++) {
      assert.ok(Math.abs((pca.singularValues[j] as number) - (svd.diagonal[j] as number)) < 1e-9);
      assert.ok(
        Math.abs(
          (pca.explainedVarianceRatio[j] as number) -
            (svd.diagonal[j] as number) ** 2 / (n - 1) / total,
        ) < 1e-12,
      );
      let dot = 0;
      for (let c = 0; c < d; c++)
        dot += (pca.components[j * d + c] as number) * svd.rightSingularVectors.get(c, j);
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-9, `component ${j}: |cos| ${dot}`);
    }
  }
});

test('randomized PCA finds the exact subspace when the spectrum has a gap', async () => {
  const n = 80;
  const d = 300;
  const k = 6;
  const x = lowRankPlusNoise(n, d, [40, 30, 25, 20, 15, 12], 0.05, 3);
  const exact = await new PCA({ nComponents: k, svdSolver: 'full' }).fit({
    rows: n,
    cols: d,
    data: x,
  });
  const approx = await new PCA({ nComponents: k, svdSolver: 'randomized', chunkRows: 17 }).fit({
    rows: n,
    cols: d,
    data: x,
  });
  assert.equal(approx.solverUsed, 'randomized');
  for (const c of principalCosines(exact.components, approx.components, k, d))
    assert.ok(c > 1 - 1e-6, `cos ${c}`);
  for (let j = 0; j < k; j++) {
    const rel = Math.abs(
      (approx.singularValues[j] as number) / (exact.singularValues[j] as number) - 1,
    );
    assert.ok(rel < 1e-5, `singular value ${j}: rel ${rel}`);
    // Same sign convention on both solvers, so the components agree with their signs.
    let dot = 0;
    for (let c = 0; c < d; c++)
      dot += (approx.components[j * d + c] as number) * (exact.components[j * d + c] as number);
    assert.ok(dot > 0.9999, `component ${j} dot ${dot}`);
  }
});

test('randomized PCA streams a feature store and gives the in-memory result', async () => {
  const n = 50;
  const d = 64;
  const x = lowRankPlusNoise(n, d, [9, 7, 5], 0.1, 8);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pca-store-'));
  try {
    const store = FeatureStore.create(dir, d);
    const f32 = Float32Array.from(x);
    for (let r = 0; r < n; r += 16) {
      const rows = Math.min(16, n - r);
      store.append(
        Array.from({ length: rows }, (_, i) => `row${r + i}`),
        f32.slice(r * d, (r + rows) * d),
      );
    }
    const fromStore = new PCA({ nComponents: 3, svdSolver: 'randomized' });
    const scores = await fromStore.fitTransform(store);
    const single = await new PCA({ nComponents: 3, svdSolver: 'randomized', workers: 1 }).fit(
      store,
    );
    for (let i = 0; i < 3 * d; i++)
      assert.ok(
        Math.abs((fromStore.components[i] as number) - (single.components[i] as number)) < 1e-5,
      );
    const inMemory = await new PCA({ nComponents: 3, svdSolver: 'randomized' }).fit({
      rows: n,
      cols: d,
      data: f32,
    });
    for (let i = 0; i < 3 * d; i++)
      assert.ok(
        Math.abs((fromStore.components[i] as number) - (inMemory.components[i] as number)) < 1e-5,
      );
    // fitTransform's U S equals transform of the same rows.
    const again = fromStore.transform(store);
    for (let i = 0; i < n * 3; i++)
      assert.ok(
        Math.abs((scores[i] as number) - (again[i] as number)) <
          1e-3 * (1 + Math.abs(again[i] as number)),
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

interface SkCase {
  solver: string;
  n_components: number;
  components: number[][];
  explained_variance: number[];
  explained_variance_ratio: number[];
  singular_values: number[];
  mean: number[];
  transformed_first_rows: number[][];
}

const fixture = JSON.parse(
  fs.readFileSync(
    path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'pca', 'sklearn-pca.json'),
    'utf8',
  ),
) as {
  full: SkCase & { x: number[][] };
  randomized: SkCase & { a: number[][]; b: number[][] };
};

function compareWithSklearn(
  pca: PCA,
  sk: SkCase,
  x: Float64Array,
  n: number,
  d: number,
  tol: number,
): void {
  const k = sk.n_components;
  for (let j = 0; j < k; j++) {
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
    assert.ok(
      rel(pca.explainedVarianceRatio[j] as number, sk.explained_variance_ratio[j] as number) < tol,
      `ratio ${j}`,
    );
    assert.ok(
      rel(pca.explainedVariance[j] as number, sk.explained_variance[j] as number) < tol,
      `variance ${j}`,
    );
    assert.ok(
      rel(pca.singularValues[j] as number, sk.singular_values[j] as number) < tol,
      `singular value ${j}`,
    );
    for (let c = 0; c < d; c++) {
      const diff = Math.abs(
        (pca.components[j * d + c] as number) - (sk.components[j] as number[])[c]!,
      );
      assert.ok(
        diff < tol,
        `component ${j}, feature ${c}: ${pca.components[j * d + c]} vs ${(sk.components[j] as number[])[c]} (sign convention?)`,
      );
    }
  }
  for (let c = 0; c < d; c++)
    assert.ok(Math.abs((pca.mean[c] as number) - (sk.mean[c] as number)) < 1e-9);
  const t = pca.transform({ rows: 5, cols: d, data: x.subarray(0, 5 * d) });
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < k; j++) {
      const want = (sk.transformed_first_rows[i] as number[])[j] as number;
      assert.ok(
        Math.abs((t[i * k + j] as number) - want) < tol * (1 + Math.abs(want)),
        `transform ${i},${j}`,
      );
    }
  assert.ok(n > 0);
}

test('agrees with scikit-learn 1.2 PCA, signs included: full solver', async () => {
  const sk = fixture.full;
  const n = sk.x.length;
  const d = (sk.x[0] as number[]).length;
  const x = Float64Array.from(sk.x.flat());
  const pca = await new PCA({ nComponents: sk.n_components }).fit({ rows: n, cols: d, data: x });
  assert.equal(pca.solverUsed, sk.solver);
  compareWithSklearn(pca, sk, x, n, d, 1e-8);
});

test('agrees with scikit-learn 1.2 PCA, signs included: randomized solver', async () => {
  const sk = fixture.randomized;
  const n = sk.a.length;
  const r = (sk.b as number[][]).length;
  const d = (sk.b[0] as number[]).length;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let t = 0; t < r; t++) s += (sk.a[i] as number[])[t]! * (sk.b[t] as number[])[j]!;
      x[i * d + j] = s + 1e-3 * Math.sin(1.7 * i + 2.3 * j + 0.1 * i * j) + 0.5;
    }
  const pca = await new PCA({ nComponents: sk.n_components }).fit({ rows: n, cols: d, data: x });
  assert.equal(pca.solverUsed, sk.solver);
  // Products run in float32: agreement to ~1e-4.
  compareWithSklearn(pca, sk, x, n, d, 2e-4);
});

test('bad arguments are named', async () => {
  assert.throws(() => new PCA({ nComponents: 0 }), /nComponents/);
  await assert.rejects(
    new PCA({ nComponents: 5 }).fit({ rows: 3, cols: 4, data: new Float64Array(12) }),
    /nComponents: 5 exceeds/,
  );
  await assert.rejects(
    new PCA({ nComponents: 1 }).fit({ rows: 2, cols: 2, data: new Float64Array([1, 2, NaN, 4]) }),
    /X: non-finite value at row 1, column 0/,
  );
  assert.throws(
    () => new PCA({ nComponents: 1 }).transform({ rows: 1, cols: 1, data: new Float64Array(1) }),
    /not fitted/,
  );
});
