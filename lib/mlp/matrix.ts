/**
 * Dense row-major float64 matrices and the few products the from-scratch networks need.
 *
 * Why not ml-matrix's `mmul` inside the training loop: ml-matrix keeps each row as its own array
 * and its product is a plain triple loop, about 1 GFLOP/s here; the 4x4 register-blocked kernels
 * below reach about 4.5 GFLOP/s in V8, which is what makes an SNN epoch on 8,355 x 100 inputs
 * take seconds instead of tens of seconds. The networks run the same products in WebAssembly
 * SIMD by default (wasm-gemm.ts), bit for bit the same numbers and about twice as fast; these
 * kernels are the reference and the fallback. ml-matrix stays the public currency (`toMatrix`,
 * `fromMatrix`) so that a notebook can print and slice the weights.
 */
import { Matrix } from 'ml-matrix';
import { check } from '../util/errors';

export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function clone(a: Mat): Mat {
  return { rows: a.rows, cols: a.cols, data: a.data.slice() };
}

/** Accepts an ml-matrix Matrix, a number[][] or a Mat, and checks every value is finite. */
export function toMat(x: Matrix | number[][] | Mat, name: string): Mat {
  if (x instanceof Matrix) return toMat(x.to2DArray(), name);
  if (Array.isArray(x)) {
    const rows = x.length;
    check(rows > 0, name, 'expected at least one row');
    const cols = (x[0] as number[]).length;
    const out = zeros(rows, cols);
    for (let i = 0; i < rows; i++) {
      const row = x[i] as number[];
      check(row.length === cols, name, `row ${i} has ${row.length} values, expected ${cols}`);
      for (let j = 0; j < cols; j++) out.data[i * cols + j] = row[j] as number;
    }
    checkFinite(out, name);
    return out;
  }
  check(x.data.length === x.rows * x.cols, name, `data length ${x.data.length} != rows*cols`);
  checkFinite(x, name);
  return x;
}

function checkFinite(a: Mat, name: string): void {
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i] as number;
    if (!Number.isFinite(v)) {
      const r = Math.floor(i / a.cols);
      check(false, name, `non-finite value ${v} at row ${r}, column ${i - r * a.cols}`);
    }
  }
}

export function toMatrix(a: Mat): Matrix {
  const m = new Matrix(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.cols; j++) m.set(i, j, a.data[i * a.cols + j] as number);
  return m;
}

/** Rows `idx` of `a`, in that order (a mini-batch). */
export function takeRows(a: Mat, idx: ArrayLike<number>, start = 0, end = idx.length): Mat {
  const out = zeros(end - start, a.cols);
  for (let r = start; r < end; r++) {
    const src = (idx[r] as number) * a.cols;
    out.data.set(a.data.subarray(src, src + a.cols), (r - start) * a.cols);
  }
  return out;
}

export function transpose(a: Mat): Mat {
  const out = zeros(a.cols, a.rows);
  const { rows, cols } = a;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) out.data[j * rows + i] = a.data[i * cols + j] as number;
  return out;
}

/**
 * C = A B, or C = A B^T with `bTransposed` (then `b` is n x k). Both read B along k with a fixed
 * stride, so one 4x4 micro-kernel serves both layouts: 16 accumulators stay in registers while the
 * loop runs over k, and each value of A and B loaded is used four times.
 */
function gemm(a: Mat, b: Mat, bTransposed: boolean): Mat {
  const m = a.rows;
  const k = a.cols;
  const n = bTransposed ? b.rows : b.cols;
  const kb = bTransposed ? b.cols : b.rows;
  check(k === kb, 'matmul', `inner dimensions differ: ${m}x${k} times ${kb}x${n}`);
  const A = a.data;
  const B = b.data;
  const out = zeros(m, n);
  const C = out.data;
  // B[p][j] sits at colStart(j) + p * pStride.
  const pStride = bTransposed ? 1 : n;
  const jStride = bTransposed ? k : 1;
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let j = 0; j < n4; j += 4) {
      const b0 = j * jStride;
      const b1 = b0 + jStride;
      const b2 = b1 + jStride;
      const b3 = b2 + jStride;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0; // prettier-ignore
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0; // prettier-ignore
      for (let p = 0, o = 0; p < k; p++, o += pStride) {
        const y0 = B[b0 + o] as number;
        const y1 = B[b1 + o] as number;
        const y2 = B[b2 + o] as number;
        const y3 = B[b3 + o] as number;
        let x = A[a0 + p] as number;
        c00 += x * y0;
        c01 += x * y1;
        c02 += x * y2;
        c03 += x * y3; // prettier-ignore
        x = A[a1 + p] as number;
        c10 += x * y0;
        c11 += x * y1;
        c12 += x * y2;
        c13 += x * y3; // prettier-ignore
        x = A[a2 + p] as number;
        c20 += x * y0;
        c21 += x * y1;
        c22 += x * y2;
        c23 += x * y3; // prettier-ignore
        x = A[a3 + p] as number;
        c30 += x * y0;
        c31 += x * y1;
        c32 += x * y2;
        c33 += x * y3; // prettier-ignore
      }
      let c = i * n + j;
      C[c] = c00;
      C[c + 1] = c01;
      C[c + 2] = c02;
      C[c + 3] = c03; // prettier-ignore
      c += n;
      C[c] = c10;
      C[c + 1] = c11;
      C[c + 2] = c12;
      C[c + 3] = c13; // prettier-ignore
      c += n;
      C[c] = c20;
      C[c + 1] = c21;
      C[c + 2] = c22;
      C[c + 3] = c23; // prettier-ignore
      c += n;
      C[c] = c30;
      C[c + 1] = c31;
      C[c + 2] = c32;
      C[c + 3] = c33; // prettier-ignore
    }
  }
  // Edges (the last m % 4 rows, the last n % 4 columns): plain dot products.
  const edge = (i: number, j: number): void => {
    let s = 0;
    const bj = j * jStride;
    for (let p = 0; p < k; p++) s += (A[i * k + p] as number) * (B[bj + p * pStride] as number);
    C[i * n + j] = s;
  };
  for (let i = 0; i < m4; i++) for (let j = n4; j < n; j++) edge(i, j);
  for (let i = m4; i < m; i++) for (let j = 0; j < n; j++) edge(i, j);
  return out;
}

/** A B */
export function matmul(a: Mat, b: Mat): Mat {
  return gemm(a, b, false);
}

/** A B^T (for example dZ W^T, with W stored as it is) */
export function matmulBT(a: Mat, b: Mat): Mat {
  return gemm(a, b, true);
}

/** A^T B (for example X^T dZ): transposing A first costs O(mk) and keeps one kernel. */
export function matmulAT(a: Mat, b: Mat): Mat {
  return gemm(transpose(a), b, false);
}

/** Adds the row vector `b` (1 x n) to every row of `a`, in place. */
export function addRowInPlace(a: Mat, b: Mat): Mat {
  check(b.rows === 1 && b.cols === a.cols, 'bias', `expected 1x${a.cols}, got ${b.rows}x${b.cols}`);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.cols; j++) a.data[i * a.cols + j] += b.data[j] as number;
  return a;
}

/** Column sums as a 1 x n row. */
export function sumRows(a: Mat): Mat {
  const out = zeros(1, a.cols);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.cols; j++) out.data[j] += a.data[i * a.cols + j] as number;
  return out;
}

export function map(a: Mat, f: (v: number) => number): Mat {
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i] as number);
  return out;
}
