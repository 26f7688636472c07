/**
 * The optimisers' elementwise updates on flat float64 arrays, in JavaScript: the reference for
 * the WebAssembly versions (scripts/gemm-wat.ts, `sgd` and `adam`), which perform the same
 * operations in the same order and so give bit-identical weights (tested).
 */

/** Adam's constants for one step t (adam.ts): b1, b2, eps, the learning rate, c = 1 - b^t. */
export interface AdamStepConstants {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  /** 1 - beta1^t */
  c1: number;
  /** 1 - beta2^t */
  c2: number;
}

/** w <- w - lr g */
export function sgdUpdate(w: Float64Array, g: Float64Array, lr: number): void {
  for (let i = 0; i < w.length; i++) w[i] -= lr * (g[i] as number);
}

/**
 * m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
 * w <- w - lr (m / c1) / (sqrt(v / c2) + eps)
 */
export function adamUpdate(
  w: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  k: AdamStepConstants,
): void {
  const { beta1, beta2, epsilon, learningRate, c1, c2 } = k;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] as number;
    m[i] = beta1 * (m[i] as number) + (1 - beta1) * gi;
    v[i] = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
    const mHat = (m[i] as number) / c1;
    const vHat = (v[i] as number) / c2;
    w[i] -= (learningRate * mHat) / (Math.sqrt(vHat) + epsilon);
  }
}
