import { Mat, zeros } from '../../lib/mlp/matrix';
import { binaryCrossEntropy, PARAM_NAMES, Params, SimpleNeuralNetwork } from '../../lib/mlp/snn';
import { Rng } from '../../lib/util/rng';

export function randomMat(rows: number, cols: number, rng: Rng, scale = 1): Mat {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * scale;
  return m;
}

/**
 * Largest relative error, over the six parameter tensors, between the analytic gradient and
 * central differences of the loss: ||g - g_num|| / (||g|| + ||g_num||). The loss is the seed's
 * BCE without the 1e-10 (whose effect on the gradient is below 1e-9 here), or `loss`.
 */
export function gradientCheck(
  net: SimpleNeuralNetwork,
  X: Mat,
  Y: Mat,
  h = 1e-6,
  loss: (A3: Mat, Y: Mat) => number = binaryCrossEntropy,
): number {
  const analytic = net.gradients(X, Y);
  const params = net.params as Params;
  let worst = 0;
  for (const name of PARAM_NAMES) {
    const w = params[name].data;
    let diff = 0;
    let normA = 0;
    let normN = 0;
    for (let i = 0; i < w.length; i++) {
      const saved = w[i] as number;
      w[i] = saved + h;
      const plus = loss(net.forward(X).A3, Y);
      w[i] = saved - h;
      const minus = loss(net.forward(X).A3, Y);
      w[i] = saved;
      const num = (plus - minus) / (2 * h);
      const a = analytic[name].data[i] as number;
      diff += (a - num) ** 2;
      normA += a * a;
      normN += num * num;
    }
    const rel = Math.sqrt(diff) / (Math.sqrt(normA) + Math.sqrt(normN) + 1e-300);
    worst = Math.max(worst, rel);
  }
  return worst;
}
