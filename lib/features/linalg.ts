/**
 * Small dense float64 linear algebra for PCA: a Householder QR of a tall, thin matrix (n x l with
 * l around 110) and the SVD of a small square one (ml-matrix). Matrices here are column-major
 * (`cols[j]` is column j) because Householder reflections work one column at a time.
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';

/**
 * Thin QR by Householder reflections: returns Q (n x l, orthonormal columns) and R (l x l,
 * upper triangular, row-major), with A = Q R. Stable whatever the conditioning of A, which is
 * why the power iterations orthonormalise with it rather than with Gram-Schmidt.
 */
export function householderQr(
  a: Float64Array[],
  n: number,
): { q: Float64Array[]; r: Float64Array } {
  const l = a.length;
  const cols = a.map((c) => Float64Array.from(c));
  const vs: Float64Array[] = [];
  const r = new Float64Array(l * l);
  for (let k = 0; k < l; k++) {
    const x = cols[k] as Float64Array;
    let norm = 0;
    for (let i = k; i < n; i++) norm += (x[i] as number) ** 2;
    norm = Math.sqrt(norm);
    const alpha = (x[k] as number) > 0 ? -norm : norm;
    const v = new Float64Array(n);
    for (let i = k; i < n; i++) v[i] = x[i] as number;
    v[k] = (v[k] as number) - alpha;
    let vv = 0;
    for (let i = k; i < n; i++) vv += (v[i] as number) ** 2;
    vs.push(v);
    if (vv > 0) {
      for (let j = k; j < l; j++) {
        const c = cols[j] as Float64Array;
        let dot = 0;
        for (let i = k; i < n; i++) dot += (v[i] as number) * (c[i] as number);
        const f = (2 * dot) / vv;
        for (let i = k; i < n; i++) c[i] = (c[i] as number) - f * (v[i] as number);
      }
    }
    for (let i = 0; i <= k; i++) r[i * l + k] = (cols[k] as Float64Array)[i] as number;
  }
  // Q = H_0 H_1 ... H_{l-1} applied to the first l columns of the identity.
  const q: Float64Array[] = [];
  for (let j = 0; j < l; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    for (let k = l - 1; k >= 0; k--) {
      const v = vs[k] as Float64Array;
      let vv = 0;
      let dot = 0;
      for (let i = k; i < n; i++) {
        vv += (v[i] as number) ** 2;
        dot += (v[i] as number) * (e[i] as number);
      }
      if (vv === 0) continue;
      const f = (2 * dot) / vv;
      for (let i = k; i < n; i++) e[i] = (e[i] as number) - f * (v[i] as number);
    }
    q.push(e);
  }
  return { q, r };
}

/** SVD of a small dense matrix (row-major rows x cols), singular values in descending order. */
export function smallSvd(
  a: Float64Array,
  rows: number,
  cols: number,
): { u: Matrix; s: number[]; v: Matrix } {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) m.set(i, j, a[i * cols + j] as number);
  const svd = new SingularValueDecomposition(m, { autoTranspose: true });
  return { u: svd.leftSingularVectors, s: svd.diagonal, v: svd.rightSingularVectors };
}
