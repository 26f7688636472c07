/**
 * Principal component analysis with scikit-learn's semantics (`sklearn.decomposition.PCA`, 1.2):
 * the data are centred by their column means; `components` (k x d, row-major) are the right
 * singular vectors of the centred data; `explainedVariance` = s^2 / (n - 1);
 * `explainedVarianceRatio` divides by the total variance (the sum of the column variances,
 * ddof 1); signs follow sklearn's `svd_flip` as 1.2 applies it to both solvers: in each column
 * of U (the left singular vectors, i.e. the scores) the entry largest in absolute value is
 * positive.
 *
 * Two solvers, chosen like sklearn's `svd_solver='auto'`: 'full' when max(n, d) <= 500 or k is
 * at least 80% of min(n, d), else 'randomized'.
 * - 'full': exact, in float64, from the eigen-decomposition of the smaller Gram matrix
 *   (Xc Xc^T when n <= d, else Xc^T Xc), which is exact for the leading components.
 * - 'randomized': Halko, Martinsson and Tropp (2011), Algorithm 4.4 with the range found on the
 *   feature side as sklearn does when n < d: l = k + nOversamples random directions, nIter power
 *   iterations (sklearn's 'auto': 7 when k < 0.1 min(n, d), else 4), each side orthonormalised
 *   between products (Householder QR on the sample side, Cholesky QR on the feature side), then
 *   an exact SVD of the small projected matrix. The data are only touched through the products
 *   X Q and P^T X, computed chunk by chunk, so a store of several GB is streamed, never loaded;
 *   centring is folded into those products (X - 1 mu^T) Q = X Q - 1 (mu^T Q). For a store, the
 *   products run on worker threads (`workers`, default 2), each over its share of the chunks with
 *   its own wasm backend; `fit` is therefore async. Products run on
 *   TensorFlow.js (float32; the wasm backend does about 16-25 GFLOP/s here); everything else is
 *   float64. Results therefore agree with sklearn to float32 accuracy and, being randomized, up
 *   to the approximation error of the method (negligible where the spectrum has a gap after k).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { ArtstyleError, check } from '../util/errors';
import { createProgress } from '../util/progress';
import { Rng } from '../util/rng';
import { householderQr, smallSvd } from './linalg';
import { FeatureStore } from './store';
import { Mat, matmul, matmulBT } from '../mlp/matrix';

const wrap = (data: Float64Array, rows: number, cols: number): Mat => ({ rows, cols, data });

/** Compiled worker next to this file (absent when this file runs uncompiled: then one thread). */
const WORKER_SCRIPT = path.join(__dirname, 'pca-worker.js');

export interface DenseRows {
  rows: number;
  cols: number;
  /** rows x cols, row-major */
  data: Float32Array | Float64Array;
}

export type PcaInput = FeatureStore | DenseRows;

export interface PcaOptions {
  /** The seed's 100. */
  nComponents?: number;
  svdSolver?: 'auto' | 'full' | 'randomized';
  /** sklearn's default 10. */
  nOversamples?: number;
  nIter?: 'auto' | number;
  /** The seed's random_state=42. */
  randomState?: number;
  /** Rows per product in the randomized solver when the input is in memory. */
  chunkRows?: number;
  /**
   * Worker threads for the randomized solver on a FeatureStore, each multiplying its own share of
   * the chunks on its own wasm backend; default min(2, CPU count). 1: everything in this thread,
   * on the current TensorFlow.js backend.
   */
  workers?: number;
}

interface SourceChunk {
  rowOffset: number;
  rows: number;
  data: Float32Array | Float64Array;
}

interface Source {
  rows: number;
  dims: number;
  forEachChunk(fn: (c: SourceChunk) => void, pass: number): void;
}

function toSource(x: PcaInput, chunkRows: number): Source {
  if (x instanceof FeatureStore) {
    return {
      rows: x.rows,
      dims: x.dims,
      // Checksums are verified on the first pass; later passes reread the same files.
      forEachChunk: (fn, pass) => x.forEachChunk(fn, { verify: pass === 0 }),
    };
  }
  check(
    Number.isInteger(x.rows) && x.rows > 0,
    'X.rows',
    `expected a positive integer, got ${x.rows}`,
  );
  check(
    Number.isInteger(x.cols) && x.cols > 0,
    'X.cols',
    `expected a positive integer, got ${x.cols}`,
  );
  check(
    x.data.length === x.rows * x.cols,
    'X.data',
    `expected ${x.rows} x ${x.cols} values, got ${x.data.length}`,
  );
  for (let i = 0; i < x.data.length; i++)
    if (!Number.isFinite(x.data[i]))
      check(false, 'X', `non-finite value at row ${Math.floor(i / x.cols)}, column ${i % x.cols}`);
  return {
    rows: x.rows,
    dims: x.cols,
    forEachChunk: (fn) => {
      for (let r = 0; r < x.rows; r += chunkRows) {
        const rows = Math.min(chunkRows, x.rows - r);
        fn({ rowOffset: r, rows, data: x.data.subarray(r * x.cols, (r + rows) * x.cols) });
      }
    },
  };
}

/** Per-column mean and sum of squared deviations, merged chunk by chunk (Chan et al.). */
class ColumnMoments {
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  count = 0;
  constructor(d: number) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }
  add(data: Float32Array | Float64Array, rows: number): void {
    const d = this.mean.length;
    const cm = new Float64Array(d);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < d; j++) cm[j] = (cm[j] as number) + (data[i * d + j] as number);
    for (let j = 0; j < d; j++) cm[j] = (cm[j] as number) / rows;
    const cq = new Float64Array(d);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < d; j++)
        cq[j] = (cq[j] as number) + ((data[i * d + j] as number) - (cm[j] as number)) ** 2;
    const n = this.count + rows;
    for (let j = 0; j < d; j++) {
      const delta = (cm[j] as number) - (this.mean[j] as number);
      this.mean[j] = (this.mean[j] as number) + (delta * rows) / n;
      this.m2[j] =
        (this.m2[j] as number) + (cq[j] as number) + (delta * delta * this.count * rows) / n;
    }
    this.count = n;
  }
  /** Merges a part given as its row count, column sums and column sums of squares. */
  mergeSums(count: number, sum: Float64Array, sumSq: Float64Array): void {
    if (count === 0) return;
    const d = this.mean.length;
    const n = this.count + count;
    for (let j = 0; j < d; j++) {
      const m = (sum[j] as number) / count;
      const q = Math.max(0, (sumSq[j] as number) - (sum[j] as number) * m);
      const delta = m - (this.mean[j] as number);
      this.mean[j] = (this.mean[j] as number) + (delta * count) / n;
      this.m2[j] = (this.m2[j] as number) + q + (delta * delta * this.count * count) / n;
    }
    this.count = n;
  }
  totalVariance(): number {
    let s = 0;
    for (const v of this.m2) s += v;
    return s / (this.count - 1);
  }
}

export class PCA {
  readonly nComponents: number;
  readonly svdSolver: 'auto' | 'full' | 'randomized';
  readonly nOversamples: number;
  readonly nIter: 'auto' | number;
  readonly randomState: number;
  readonly chunkRows: number;
  readonly workers: number;
  /** Fitted: 'full' or 'randomized'. */
  solverUsed: 'full' | 'randomized' | null = null;
  nSamples = 0;
  nFeatures = 0;
  /** Column means (d). */
  mean: Float64Array = new Float64Array(0);
  /** k x d, row-major, unit rows. */
  components: Float64Array = new Float64Array(0);
  singularValues: number[] = [];
  explainedVariance: number[] = [];
  explainedVarianceRatio: number[] = [];
  /** The scores U S of the fitted rows (n x k, row-major), as sklearn's fit_transform returns. */
  private scores: Float64Array = new Float64Array(0);

  constructor(options: PcaOptions = {}) {
    this.nComponents = options.nComponents ?? 100;
    this.svdSolver = options.svdSolver ?? 'auto';
    this.nOversamples = options.nOversamples ?? 10;
    this.nIter = options.nIter ?? 'auto';
    this.randomState = options.randomState ?? 42;
    this.chunkRows = options.chunkRows ?? 1024;
    this.workers = options.workers ?? Math.min(2, os.cpus().length);
    check(
      Number.isInteger(this.workers) && this.workers >= 1,
      'workers',
      `expected an integer >= 1, got ${this.workers}`,
    );
    check(
      Number.isInteger(this.nComponents) && this.nComponents > 0,
      'nComponents',
      `expected a positive integer, got ${this.nComponents}`,
    );
    check(
      ['auto', 'full', 'randomized'].includes(this.svdSolver),
      'svdSolver',
      `expected auto, full or randomized, got ${this.svdSolver}`,
    );
    check(
      Number.isInteger(this.nOversamples) && this.nOversamples >= 0,
      'nOversamples',
      `expected an integer >= 0`,
    );
    check(
      this.nIter === 'auto' || (Number.isInteger(this.nIter) && this.nIter >= 0),
      'nIter',
      `expected 'auto' or an integer >= 0, got ${this.nIter}`,
    );
  }

  async fit(x: PcaInput): Promise<this> {
    const src = toSource(x, this.chunkRows);
    const { rows: n, dims: d } = src;
    const k = this.nComponents;
    check(
      k <= Math.min(n, d),
      'nComponents',
      `${k} exceeds min(n_samples, n_features) = min(${n}, ${d})`,
    );
    check(n >= 2, 'X', `need at least 2 rows, got ${n}`);
    let solver = this.svdSolver;
    if (solver === 'auto')
      solver = Math.max(n, d) <= 500 || k >= 0.8 * Math.min(n, d) ? 'full' : 'randomized';
    this.nSamples = n;
    this.nFeatures = d;
    this.solverUsed = solver;
    const res =
      solver === 'full'
        ? this.fitFull(src)
        : await this.fitRandomized(src, x instanceof FeatureStore ? x : null);
    // svd_flip, u-based: the largest |U_ij| of each column j is made positive.
    for (let j = 0; j < k; j++) {
      let best = 0;
      for (let i = 0; i < n; i++)
        if (Math.abs(res.u[i * k + j] as number) > Math.abs(res.u[best * k + j] as number))
          best = i;
      if ((res.u[best * k + j] as number) < 0) {
        for (let i = 0; i < n; i++) res.u[i * k + j] = -(res.u[i * k + j] as number);
        for (let c = 0; c < d; c++) res.vt[j * d + c] = -(res.vt[j * d + c] as number);
      }
    }
    this.mean = res.mean;
    this.components = res.vt;
    this.singularValues = res.s;
    this.explainedVariance = res.s.map((s) => (s * s) / (n - 1));
    this.explainedVarianceRatio = this.explainedVariance.map((v) => v / res.totalVariance);
    this.scores = new Float64Array(n * k);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < k; j++)
        this.scores[i * k + j] = (res.u[i * k + j] as number) * (res.s[j] as number);
    return this;
  }

  /** Fits, then returns the scores of the fitted rows (n x k, row-major), without another pass. */
  async fitTransform(x: PcaInput): Promise<Float64Array> {
    await this.fit(x);
    return this.scores.slice();
  }

  /** (X - mean) components^T, n x k row-major; a store is read chunk by chunk. */
  transform(x: PcaInput): Float64Array {
    check(this.solverUsed !== null, 'pca', 'not fitted yet: call fit() first');
    const src = toSource(x, this.chunkRows);
    const k = this.nComponents;
    const d = this.nFeatures;
    check(src.dims === d, 'X', `expected ${d} columns (as fitted), got ${src.dims}`);
    const out = new Float64Array(src.rows * k);
    src.forEachChunk((c) => {
      for (let i = 0; i < c.rows; i++) {
        const row = i * d;
        for (let j = 0; j < k; j++) {
          let s = 0;
          const comp = j * d;
          for (let t = 0; t < d; t++)
            s +=
              ((c.data[row + t] as number) - (this.mean[t] as number)) *
              (this.components[comp + t] as number);
          out[(c.rowOffset + i) * k + j] = s;
        }
      }
    }, 0);
    return out;
  }

  private fitFull(src: Source): FitResult {
    const { rows: n, dims: d } = src;
    const k = this.nComponents;
    const small = Math.min(n, d);
    if (small > 4000 || n * d > 2 ** 28)
      throw new ArtstyleError(
        'too-large',
        `the exact PCA of a ${n} x ${d} matrix needs a ${small} x ${small} eigen-decomposition in memory; use svdSolver 'randomized'`,
        'svdSolver',
      );
    const moments = new ColumnMoments(d);
    const xc = new Float64Array(n * d);
    src.forEachChunk((c) => {
      moments.add(c.data, c.rows);
      for (let i = 0; i < c.rows * d; i++) xc[c.rowOffset * d + i] = c.data[i] as number;
    }, 0);
    const mu = moments.mean;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) xc[i * d + j] = (xc[i * d + j] as number) - (mu[j] as number);
    // Gram matrix of the smaller side; its eigenvectors are U (n <= d) or V (n > d).
    const sampleSide = n <= d;
    const g = new Float64Array(small * small);
    if (sampleSide) {
      for (let a = 0; a < n; a++)
        for (let b = 0; b <= a; b++) {
          let s = 0;
          for (let t = 0; t < d; t++) s += (xc[a * d + t] as number) * (xc[b * d + t] as number);
          g[a * n + b] = s;
          g[b * n + a] = s;
        }
    } else {
      for (let i = 0; i < n; i++)
        for (let a = 0; a < d; a++) {
          const xa = xc[i * d + a] as number;
          if (xa === 0) continue;
          for (let b = 0; b < d; b++)
            g[a * d + b] = (g[a * d + b] as number) + xa * (xc[i * d + b] as number);
        }
    }
    const eig = smallSvd(g, small, small); // symmetric PSD: singular pairs are eigen-pairs
    const s = eig.s.slice(0, k).map((lambda) => Math.sqrt(Math.max(0, lambda)));
    const u = new Float64Array(n * k);
    const vt = new Float64Array(k * d);
    for (let j = 0; j < k; j++) {
      const sj = s[j] as number;
      const inv = sj > 0 ? 1 / sj : 0;
      if (sampleSide) {
        for (let i = 0; i < n; i++) u[i * k + j] = eig.u.get(i, j);
        for (let i = 0; i < n; i++) {
          const ui = (u[i * k + j] as number) * inv;
          if (ui === 0) continue;
          for (let t = 0; t < d; t++)
            vt[j * d + t] = (vt[j * d + t] as number) + ui * (xc[i * d + t] as number);
        }
      } else {
        for (let t = 0; t < d; t++) vt[j * d + t] = eig.u.get(t, j);
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let t = 0; t < d; t++) acc += (xc[i * d + t] as number) * (vt[j * d + t] as number);
          u[i * k + j] = acc * inv;
        }
      }
    }
    return { mean: mu, u, s, vt, totalVariance: moments.totalVariance() };
  }

  private async fitRandomized(src: Source, store: FeatureStore | null): Promise<FitResult> {
    const engine: ProductEngine =
      store !== null && this.workers > 1 && fs.existsSync(WORKER_SCRIPT)
        ? await WorkerEngine.start(store, this.workers)
        : new InProcessEngine(src);
    try {
      return await this.randomizedWith(src, engine);
    } finally {
      await engine.close();
    }
  }

  private async randomizedWith(src: Source, engine: ProductEngine): Promise<FitResult> {
    const { rows: n, dims: d } = src;
    const k = this.nComponents;
    const l = Math.min(k + this.nOversamples, n, d);
    const nIter = this.nIter === 'auto' ? (k < 0.1 * Math.min(n, d) ? 7 : 4) : this.nIter;
    const rng = new Rng(this.randomState).fork('pca-randomized');
    const progress = createProgress('PCA (randomized, data passes)', 2 * nIter + 2);
    let passes = 0;
    const pass = (): number => passes++;

    // Pass 0: column moments and Qt = Omega^T Xc (l x d), Omega (n x l) standard normal.
    const omega = new Float64Array(n * l);
    for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
    const moments = new ColumnMoments(d);
    const rawQt = await engine.left(omega, l, pass(), moments);
    const mu = moments.mean;
    const muT = tf.tensor2d(Float32Array.from(mu), [1, d]);
    let qt = centreLeftProduct(rawQt, omega, n, l, muT);
    progress.update(passes);
    try {
      for (let it = 0; it < nIter; it++) {
        qt = replace(qt, orthonormaliseRows(qt));
        const p = choleskyQr2(centreRightProduct(await engine.right(qt, pass()), qt, muT), n, l);
        progress.update(passes);
        qt.dispose();
        qt = centreLeftProduct(await engine.left(p, l, pass(), null), p, n, l, muT);
        progress.update(passes);
      }
      qt = replace(qt, orthonormaliseRows(qt));
      // The final basis must be orthonormal to float64 accuracy, not just well conditioned: with
      // G = Qt Qt^T = R^T R (in float64), Q R^-1 is, so B = Xc Q R^-1 = Qb Rb, Rb = Ur S Vr^T,
      // and Xc ~ (Qb Ur) S (Vr^T R^-T Qt).
      const qt64 = Float64Array.from(qt.dataSync());
      const rInv = invertUpper(
        cholesky(matmulBT(wrap(qt64, l, d), wrap(qt64, l, d)).data, l, 1e-15),
        l,
      );
      const bRaw = centreRightProduct(await engine.right(qt, pass()), qt, muT);
      const bCols = Array.from({ length: l }, (_, j) => {
        const col = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let t = 0; t <= j; t++)
            s += (bRaw[i * l + t] as number) * (rInv[t * l + j] as number);
          col[i] = s;
        }
        return col;
      });
      const { q: qb, r: rb } = householderQr(bCols, n);
      progress.update(passes);
      const svd = smallSvd(rb, l, l);
      const u = new Float64Array(n * k);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < k; j++) {
          let s = 0;
          for (let t = 0; t < l; t++) s += ((qb[t] as Float64Array)[i] as number) * svd.u.get(t, j);
          u[i * k + j] = s;
        }
      // W = Vr^T R^-T (k x l), then components = W Qt.
      const w = new Float64Array(k * l);
      for (let j = 0; j < k; j++)
        for (let t = 0; t < l; t++) {
          let s = 0;
          for (let a = t; a < l; a++) s += svd.v.get(a, j) * (rInv[t * l + a] as number);
          w[j * l + t] = s;
        }
      const vt = matmul(wrap(w, k, l), wrap(qt64, l, d)).data;
      progress.end(`${passes} passes over ${n} x ${d}`);
      return { mean: mu, u, s: svd.s.slice(0, k), vt, totalVariance: moments.totalVariance() };
    } finally {
      qt.dispose();
      muT.dispose();
    }
  }
}

interface FitResult {
  mean: Float64Array;
  /** n x k row-major */
  u: Float64Array;
  s: number[];
  /** k x d row-major */
  vt: Float64Array;
  totalVariance: number;
}

/**
 * Values of a tensor, then frees it. (Returning a large typed array from tf.tidy instead would
 * make tidy walk it element by element, looking for tensors: seconds per call at this size.)
 */
function readAndDispose(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function replace(old: tf.Tensor2D, next: tf.Tensor2D): tf.Tensor2D {
  old.dispose();
  return next;
}

function chunkTensor(c: SourceChunk, d: number): tf.Tensor2D {
  return tf.tensor2d(c.data instanceof Float32Array ? c.data : Float32Array.from(c.data), [
    c.rows,
    d,
  ]);
}

/** The two data products of the randomized solver, uncentred. */
interface ProductEngine {
  /** M^T X (l x d) for M (n x l, row-major); fills `moments` when given (pass 0). */
  left(
    m: Float64Array,
    l: number,
    pass: number,
    moments: ColumnMoments | null,
  ): Promise<tf.Tensor2D>;
  /** X Qt^T, n x l row-major. */
  right(qt: tf.Tensor2D, pass: number): Promise<Float64Array>;
  close(): Promise<void>;
}

/** Products in this thread, on the current TensorFlow.js backend, one chunk at a time. */
class InProcessEngine implements ProductEngine {
  constructor(private readonly src: Source) {}

  async left(
    m: Float64Array,
    l: number,
    pass: number,
    moments: ColumnMoments | null,
  ): Promise<tf.Tensor2D> {
    const src = this.src;
    let acc = tf.zeros([l, src.dims]) as tf.Tensor2D;
    src.forEachChunk((c) => {
      moments?.add(c.data, c.rows);
      // M_c^T as its own l x rows block: tfjs multiplies (l x r)(r x d) fastest untransposed.
      const mt = new Float32Array(l * c.rows);
      for (let i = 0; i < c.rows; i++)
        for (let j = 0; j < l; j++) mt[j * c.rows + i] = m[(c.rowOffset + i) * l + j] as number;
      const next = tf.tidy(
        () =>
          acc.add(tf.matMul(tf.tensor2d(mt, [l, c.rows]), chunkTensor(c, src.dims))) as tf.Tensor2D,
      );
      acc.dispose();
      acc = next;
    }, pass);
    return acc;
  }

  async right(qt: tf.Tensor2D, pass: number): Promise<Float64Array> {
    const l = qt.shape[0];
    const q = tf.transpose(qt);
    const out = new Float64Array(this.src.rows * l);
    try {
      this.src.forEachChunk((c) => {
        const prod = tf.tidy(() => tf.matMul(chunkTensor(c, this.src.dims), q));
        out.set(prod.dataSync(), c.rowOffset * l);
        prod.dispose();
      }, pass);
    } finally {
      q.dispose();
    }
    return out;
  }

  async close(): Promise<void> {}
}

interface WorkerReply {
  ready?: boolean;
  error?: string;
  subject?: string;
  product?: Float32Array;
  sum?: Float64Array;
  sumSq?: Float64Array;
  count?: number;
}

/**
 * Products on worker threads (pca-worker.ts), each owning a contiguous range of the store's
 * chunks, glued into blocks of at least 1,024 rows so that each tfjs product is large enough to
 * run near the kernel's speed. Inputs and the sample-side output are SharedArrayBuffers.
 */
class WorkerEngine implements ProductEngine {
  private constructor(
    private readonly store: FeatureStore,
    private readonly workers: Worker[],
  ) {}

  static async start(store: FeatureStore, count: number): Promise<WorkerEngine> {
    const chunks = store.chunkCount;
    const rowsPerChunk: number[] = [];
    store.forEachChunkEntry((rows) => rowsPerChunk.push(rows));
    const total = store.rows;
    const bounds = [0];
    let acc = 0;
    for (let i = 0, w = 1; i < chunks && w < count; i++) {
      acc += rowsPerChunk[i] as number;
      if (acc >= (total * w) / count) {
        bounds.push(i + 1);
        w++;
      }
    }
    bounds.push(chunks);
    const workers: Worker[] = [];
    for (let w = 0; w + 1 < bounds.length; w++) {
      if ((bounds[w] as number) === (bounds[w + 1] as number)) continue;
      workers.push(
        new Worker(WORKER_SCRIPT, {
          workerData: {
            dir: store.dir,
            firstChunk: bounds[w],
            endChunk: bounds[w + 1],
            blockRows: 1024,
          },
        }),
      );
    }
    const engine = new WorkerEngine(store, workers);
    try {
      await Promise.all(workers.map((wk) => engine.reply(wk)));
    } catch (e) {
      await engine.close();
      throw e;
    }
    return engine;
  }

  private reply(worker: Worker): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerReply): void => {
        worker.off('error', onError);
        if (m.error !== undefined) reject(new ArtstyleError('pca-worker', m.error, m.subject));
        else resolve(m);
      };
      const onError = (e: Error): void => {
        worker.off('message', onMessage);
        reject(
          new ArtstyleError('pca-worker', `PCA worker failed: ${e.message}`, this.store.dir, {
            cause: e,
          }),
        );
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    });
  }

  async left(
    m: Float64Array,
    l: number,
    pass: number,
    moments: ColumnMoments | null,
  ): Promise<tf.Tensor2D> {
    const shared = new SharedArrayBuffer(m.byteLength);
    new Float64Array(shared).set(m);
    const replies = await Promise.all(
      this.workers.map((wk) => {
        const r = this.reply(wk);
        wk.postMessage({
          op: 'left',
          verify: pass === 0,
          l,
          input: shared,
          moments: moments !== null,
        });
        return r;
      }),
    );
    const d = this.store.dims;
    const sum = new Float32Array(l * d);
    for (const r of replies) {
      const p = r.product as Float32Array;
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (p[i] as number);
      if (moments)
        moments.mergeSums(r.count as number, r.sum as Float64Array, r.sumSq as Float64Array);
    }
    return tf.tensor2d(sum, [l, d]);
  }

  async right(qt: tf.Tensor2D, pass: number): Promise<Float64Array> {
    const l = qt.shape[0];
    const q = readAndDispose(tf.transpose(qt));
    const input = new SharedArrayBuffer(q.byteLength);
    new Float32Array(input).set(q);
    const output = new SharedArrayBuffer(this.store.rows * l * 8);
    await Promise.all(
      this.workers.map((wk) => {
        const r = this.reply(wk);
        wk.postMessage({ op: 'right', verify: pass === 0, l, input, output, moments: false });
        return r;
      }),
    );
    return new Float64Array(output);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** X Qt^T -> (X - 1 mu^T) Qt^T = X Qt^T - 1 (mu^T Qt^T), in place. */
function centreRightProduct(xq: Float64Array, qt: tf.Tensor2D, muT: tf.Tensor2D): Float64Array {
  const l = qt.shape[0];
  const muQ = readAndDispose(tf.matMul(muT, qt, false, true));
  for (let i = 0; i < xq.length; i++) xq[i] = (xq[i] as number) - (muQ[i % l] as number);
  return xq;
}

/** M^T X -> M^T (X - 1 mu^T) = M^T X - (M^T 1) mu^T; disposes its input. */
function centreLeftProduct(
  mtx: tf.Tensor2D,
  m: Float64Array,
  n: number,
  l: number,
  muT: tf.Tensor2D,
): tf.Tensor2D {
  const colSum = new Float32Array(l);
  for (let j = 0; j < l; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += m[i * l + j] as number;
    colSum[j] = s;
  }
  const out = tf.tidy(() => mtx.sub(tf.matMul(tf.tensor2d(colSum, [l, 1]), muT)) as tf.Tensor2D);
  mtx.dispose();
  return out;
}

/**
 * Upper-triangular R (row-major) with G + shift I = R^T R. The shift (relative to the trace, about
 * the rounding error of how G was computed) keeps the factorisation defined when the basis is
 * nearly rank-deficient; it only damps directions already lost in rounding.
 */
function cholesky(g: Float64Array, l: number, relativeShift: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < l; i++) trace += g[i * l + i] as number;
  const shift = relativeShift * trace;
  const r = new Float64Array(l * l);
  for (let i = 0; i < l; i++)
    for (let j = i; j < l; j++) {
      let s = (g[i * l + j] as number) + (i === j ? shift : 0);
      for (let t = 0; t < i; t++) s -= (r[t * l + i] as number) * (r[t * l + j] as number);
      if (i === j) {
        if (!(s > 0))
          throw new ArtstyleError(
            'numerical',
            'PCA: the power iteration basis lost rank (the data may have fewer than nComponents + nOversamples directions)',
            'X',
          );
        r[i * l + i] = Math.sqrt(s);
      } else r[i * l + j] = s / (r[i * l + i] as number);
    }
  return r;
}

/** Inverse of an upper-triangular l x l matrix (row-major). */
function invertUpper(r: Float64Array, l: number): Float64Array {
  const inv = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    inv[j * l + j] = 1 / (r[j * l + j] as number);
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let t = i + 1; t <= j; t++) s += (r[i * l + t] as number) * (inv[t * l + j] as number);
      inv[i * l + j] = -s / (r[i * l + i] as number);
    }
  }
  return inv;
}

/**
 * Orthonormal rows spanning those of `a` (l x d tensor), by Cholesky QR applied twice: with
 * G = A A^T = R^T R, the rows of R^-T A are orthonormal up to a loss that the second round
 * removes. Only l x l work happens outside TensorFlow.js, so the cost is two (l x d)(d x l)
 * products, instead of the d l^2 of a Householder QR on the feature side.
 */
function orthonormaliseRows(a: tf.Tensor2D): tf.Tensor2D {
  const l = a.shape[0];
  let cur = a;
  for (let round = 0; round < 2; round++) {
    const g = readAndDispose(tf.matMul(cur, cur, false, true));
    const rInv = invertUpper(cholesky(Float64Array.from(g), l, 1e-6), l); // G in float32
    // R^-T = (R^-1)^T, lower triangular.
    const rInvT = new Float32Array(l * l);
    for (let i = 0; i < l; i++)
      for (let j = 0; j < l; j++) rInvT[i * l + j] = rInv[j * l + i] as number;
    const next = tf.tidy(() => tf.matMul(tf.tensor2d(rInvT, [l, l]), cur) as tf.Tensor2D);
    if (cur !== a) cur.dispose();
    cur = next;
  }
  return cur;
}

/** Orthonormal columns spanning those of `p` (n x l, row-major float64): Cholesky QR, twice. */
function choleskyQr2(p: Float64Array, n: number, l: number): Float64Array {
  let cur = p;
  for (let round = 0; round < 2; round++) {
    const g = new Float64Array(l * l);
    for (let i = 0; i < n; i++) {
      const row = i * l;
      for (let a = 0; a < l; a++) {
        const x = cur[row + a] as number;
        if (x === 0) continue;
        for (let b = a; b < l; b++)
          g[a * l + b] = (g[a * l + b] as number) + x * (cur[row + b] as number);
      }
    }
    for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) g[a * l + b] = g[b * l + a] as number;
    const rInv = invertUpper(cholesky(g, l, 1e-12), l); // G in float64
    const next = new Float64Array(n * l);
    for (let i = 0; i < n; i++) {
      const row = i * l;
      for (let t = 0; t < l; t++) {
        const x = cur[row + t] as number;
        if (x === 0) continue;
        for (let j = t; j < l; j++)
          next[row + j] = (next[row + j] as number) + x * (rInv[t * l + j] as number);
      }
    }
    cur = next;
  }
  return cur;
}
