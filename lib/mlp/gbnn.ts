/**
 * Gradient boosting of small networks in logit space (Friedman 2001, "Greedy function
 * approximation"), the boosting that the seed's BNN was after. The ensemble's score for genre g is
 * a logit F_g(x); its probability is sigmoid(F_g(x)); its loss is the seed's binary cross-entropy
 *
 *   L(F) = -(1/n) sum_i sum_g [ y_ig log s(F_ig) + (1 - y_ig) log(1 - s(F_ig)) ],  s = sigmoid.
 *
 * Stage 0 is the best constant: F_0,g = log(p_g / (1 - p_g)), p_g the genre's share of the
 * training rows (clipped to [1e-4, 1 - 1e-4]). Each stage m = 1..M then
 *
 *   1. takes the negative gradient of L at F_{m-1}, row by row (the pseudo-residuals):
 *        r_ig = -n dL/dF_ig = y_ig - s(F_{m-1,ig})          (values in (-1, 1), either sign)
 *   2. fits a member h_m, the SNN's two ReLU layers with a LINEAR output, to r by squared loss
 *        L_m(h) = (1/2n) sum_i sum_g (h_g(x_i) - r_ig)^2,    dL_m/dZ3 = (h - r) / n
 *      (mini-batch SGD, as the SNN; a linear output can take either sign, which a sigmoid member
 *      fitting residuals, the seed's BNN, cannot);
 *   3. takes one Newton step along h_m for each genre g (the line search of Friedman's
 *      algorithm; the loss's curvature s(1 - s) is small for rare genres, so the plain gradient
 *      step would move their logits far too little):
 *        gamma_mg = sum_i r_ig h_mg(x_i) / sum_i s(F_ig)(1 - s(F_ig)) h_mg(x_i)^2
 *   4. adds it with shrinkage nu:  F_m = F_{m-1} + nu gamma_m h_m   (gamma = 1 without line search).
 *
 * Smaller nu needs more members and generalises better (Friedman's shrinkage). `stageLogits`
 * gives F_0..F_M, so a caller can show what every member adds.
 */
import { Matrix } from 'ml-matrix';
import { check } from '../util/errors';
import { addRowInPlace, Mat, toMat, toMatrix, zeros } from './matrix';
import { binaryCrossEntropy, ForwardCache, relu, SimpleNeuralNetwork, SnnOptions } from './snn';

/** Half the mean over rows of the squared error summed over outputs: (1/2n) sum (A - Y)^2. */
export function halfSquaredError(A: Mat, Y: Mat): number {
  check(
    A.rows === Y.rows && A.cols === Y.cols,
    'Y',
    `shape ${Y.rows}x${Y.cols} differs from the outputs' ${A.rows}x${A.cols}`,
  );
  let s = 0;
  for (let i = 0; i < A.data.length; i++) s += ((A.data[i] as number) - (Y.data[i] as number)) ** 2;
  return s / (2 * A.rows);
}

/**
 * The SNN with a linear output and squared loss: forward is the SNN's with A3 = Z3, so the SNN's
 * backward pass (dZ3 = A3 - Y, then divided by n) is exactly the gradient of `halfSquaredError`.
 */
export class LinearOutputNetwork extends SimpleNeuralNetwork {
  override forward(X: Mat): ForwardCache {
    const { W1, b1, W2, b2, W3, b3 } = this.requireParams();
    check(X.cols === W1.rows, 'X', `expected ${W1.rows} columns, got ${X.cols}`);
    const Z1 = addRowInPlace(this.products.matmul(X, W1), b1);
    const A1 = relu(Z1);
    const Z2 = addRowInPlace(this.products.matmul(A1, W2), b2);
    const A2 = relu(Z2);
    const Z3 = addRowInPlace(this.products.matmul(A2, W3), b3);
    return { Z1, A1, Z2, A2, Z3, A3: Z3 };
  }

  override loss(A3: Mat, Y: Mat): number {
    return halfSquaredError(A3, Y);
  }
}

export interface GradientBoostingOptions extends Omit<SnnOptions, 'gradientClipValue'> {
  /** Members (boosting stages) M. */
  nModels?: number;
  /** Shrinkage nu in (0, 1]. */
  shrinkage?: number;
  /** 'newton' (default): one Newton step per genre along each member; 'none': gamma = 1. */
  lineSearch?: 'newton' | 'none';
}

export interface GradientBoostingFitOptions {
  /** SGD epochs per member. */
  epochs?: number;
  batchSize?: number;
  /** The members' epoch losses on their pseudo-residuals ('full', the default) or none ('none'). */
  lossOn?: 'full' | 'none';
  onMember?: (member: number, trainLoss: number) => void;
}

/** F += nu gamma_g h, column by column (in place). */
function addScaled(F: Mat, h: Mat, gamma: readonly number[], nu: number): void {
  for (let i = 0; i < F.rows; i++)
    for (let g = 0; g < F.cols; g++) {
      const k = i * F.cols + g;
      F.data[k] += nu * (gamma[g] as number) * (h.data[k] as number);
    }
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export class GradientBoostedNetwork {
  readonly nModels: number;
  readonly shrinkage: number;
  readonly lineSearch: 'newton' | 'none';
  readonly memberOptions: SnnOptions;
  /** F_0: one logit per genre. */
  baseLogits: number[] = [];
  members: LinearOutputNetwork[] = [];
  /** Per member, its step gamma_m per genre (all 1 without line search). */
  steps: number[][] = [];
  /** Per member, its squared loss per epoch on the pseudo-residuals. */
  histories: number[][] = [];
  /** The ensemble's training BCE after stage 0, 1, ..., M. */
  trainLosses: number[] = [];

  constructor(options: GradientBoostingOptions = {}) {
    this.nModels = options.nModels ?? 10;
    this.shrinkage = options.shrinkage ?? 0.5;
    this.lineSearch = options.lineSearch ?? 'newton';
    check(
      this.lineSearch === 'newton' || this.lineSearch === 'none',
      'lineSearch',
      `expected 'newton' or 'none', got ${String(this.lineSearch)}`,
    );
    check(
      Number.isInteger(this.nModels) && this.nModels > 0,
      'nModels',
      `expected a positive integer, got ${this.nModels}`,
    );
    check(
      this.shrinkage > 0 && this.shrinkage <= 1,
      'shrinkage',
      `expected a value in (0, 1], got ${this.shrinkage}`,
    );
    this.memberOptions = { ...options, gradientClipValue: null };
  }

  /** sigmoid(F) elementwise. */
  static probabilities(F: Mat): Mat {
    const out = zeros(F.rows, F.cols);
    for (let i = 0; i < F.data.length; i++) out.data[i] = sigmoid(F.data[i] as number);
    return out;
  }

  /** r = Y - sigmoid(F): minus n times the gradient of the mean BCE with respect to F. */
  static pseudoResiduals(F: Mat, Y: Mat): Mat {
    const r = zeros(F.rows, F.cols);
    for (let i = 0; i < F.data.length; i++)
      r.data[i] = (Y.data[i] as number) - sigmoid(F.data[i] as number);
    return r;
  }

  private constantLogits(rows: number): Mat {
    const F = zeros(rows, this.baseLogits.length);
    for (let i = 0; i < rows; i++) F.data.set(this.baseLogits, i * this.baseLogits.length);
    return F;
  }

  /** Trains the stages in turn; returns the ensemble's training BCE after stages 0..M. */
  fit(
    Xin: Matrix | number[][] | Mat,
    Yin: Matrix | number[][] | Mat,
    options: GradientBoostingFitOptions = {},
  ): number[] {
    const X = toMat(Xin, 'X');
    const Y = toMat(Yin, 'Y');
    check(Y.rows === X.rows, 'Y', `has ${Y.rows} rows but X has ${X.rows}`);
    for (let i = 0; i < Y.data.length; i++)
      check(Y.data[i] === 0 || Y.data[i] === 1, 'Y', `expected 0 or 1, got ${Y.data[i]}`);
    this.baseLogits = Array.from({ length: Y.cols }, (_, g) => {
      let s = 0;
      for (let i = 0; i < Y.rows; i++) s += Y.data[i * Y.cols + g] as number;
      const p = Math.min(1 - 1e-4, Math.max(1e-4, s / Y.rows));
      return Math.log(p / (1 - p));
    });
    this.members = [];
    this.histories = [];
    this.steps = [];
    const F = this.constantLogits(X.rows);
    this.trainLosses = [binaryCrossEntropy(GradientBoostedNetwork.probabilities(F), Y)];
    const seed = this.memberOptions.seed ?? 42;
    for (let m = 0; m < this.nModels; m++) {
      const r = GradientBoostedNetwork.pseudoResiduals(F, Y);
      const member = new LinearOutputNetwork({ ...this.memberOptions, seed: seed + m });
      this.histories.push(
        member.fit(X, r, {
          epochs: options.epochs ?? 10,
          batchSize: options.batchSize ?? 32,
          lossOn: options.lossOn ?? 'full',
        }),
      );
      this.members.push(member);
      const h = member.predictMat(X);
      const gamma = this.newtonSteps(F, r, h);
      this.steps.push(gamma);
      addScaled(F, h, gamma, this.shrinkage);
      const loss = binaryCrossEntropy(GradientBoostedNetwork.probabilities(F), Y);
      this.trainLosses.push(loss);
      options.onMember?.(m, loss);
    }
    return this.trainLosses;
  }

  /** gamma_g = sum_i r h / sum_i s (1 - s) h^2 per genre (1 where h is 0 or no line search). */
  newtonSteps(F: Mat, r: Mat, h: Mat): number[] {
    const gamma = new Array<number>(F.cols).fill(1);
    if (this.lineSearch === 'none') return gamma;
    for (let g = 0; g < F.cols; g++) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < F.rows; i++) {
        const k = i * F.cols + g;
        const s = sigmoid(F.data[k] as number);
        const hk = h.data[k] as number;
        num += (r.data[k] as number) * hk;
        den += s * (1 - s) * hk * hk;
      }
      if (den > 0) gamma[g] = num / den;
    }
    return gamma;
  }

  /** The logits F_0, F_1, ..., F_M on X (M + 1 matrices): what each member adds. */
  stageLogits(Xin: Matrix | number[][] | Mat): Mat[] {
    check(this.baseLogits.length > 0, 'model', 'not fitted yet: call fit() first');
    const X = toMat(Xin, 'X');
    const F = this.constantLogits(X.rows);
    const stages = [{ rows: F.rows, cols: F.cols, data: F.data.slice() }];
    for (const [m, member] of this.members.entries()) {
      addScaled(F, member.predictMat(X), this.steps[m] as number[], this.shrinkage);
      stages.push({ rows: F.rows, cols: F.cols, data: F.data.slice() });
    }
    return stages;
  }

  predictMat(Xin: Matrix | number[][] | Mat): Mat {
    return GradientBoostedNetwork.probabilities(this.stageLogits(Xin).at(-1) as Mat);
  }

  /** Probabilities sigmoid(F_M), comparable with the SNN's. */
  predict(Xin: Matrix | number[][] | Mat): Matrix {
    return toMatrix(this.predictMat(Xin));
  }
}
