/**
 * The seed's Boosted Neural Network (BNN): SNNs trained one after another, each on the residuals
 * the previous ones leave (R_0 = Y, R_m = R_{m-1} - f_m(X)), weight gradients clipped elementwise
 * to [-0.5, 0.5], stopping early once the Euclidean norm of every residual column is under
 * `residualThreshold`. The prediction is the sum of the members' outputs.
 *
 * Consequences of following the seed literally, worth knowing when reading its results:
 * - Each member ends in a sigmoid, so it can only add values in (0, 1). Once the first member
 *   has fitted Y, residuals are mostly small and often negative, which later members cannot
 *   represent: their outputs go towards 0 but never below, so the sum can only grow. The raw sum
 *   can exceed 1; `predict` clips it to [0, 1] so that thresholds and metrics mean the same thing
 *   as for the SNN (`predictRaw` gives the unclipped sum).
 * - A residual norm under 1e-3 over thousands of samples is practically never reached, so all
 *   members are trained.
 * - The seed does not show how many members it used; the default here is 3. Its BNN `train`
 *   defaults to 10 epochs per member (the SNN's to 20), which is kept.
 */
import { Matrix } from 'ml-matrix';
import { check } from '../util/errors';
import { Mat, toMat, toMatrix, zeros } from './matrix';
import { FitOptions, SimpleNeuralNetwork, SnnOptions } from './snn';

export interface BnnOptions extends Omit<SnnOptions, 'gradientClipValue'> {
  /** How many SNNs at most; the seed does not say, 3 here. */
  nModels?: number;
  /** The seed's 0.5. */
  gradientClipValue?: number;
  /** The seed's 1e-3. */
  residualThreshold?: number;
}

export interface BnnFitOptions {
  /** Epochs per member; the seed's BNN default is 10. */
  epochs?: number;
  batchSize?: number;
  /** As the SNN's (`FitOptions`); 'none' leaves `histories` empty. */
  lossOn?: FitOptions['lossOn'];
  onEpoch?: (member: number, epoch: number, loss: number) => void;
}

export class BoostedNeuralNetwork {
  readonly nModels: number;
  readonly residualThreshold: number;
  readonly memberOptions: SnnOptions;
  members: SimpleNeuralNetwork[] = [];
  /** Per trained member, its loss per epoch. */
  histories: number[][] = [];
  /** Per trained member, the norm of each residual column after it. */
  residualNorms: number[][] = [];
  stoppedEarly = false;

  constructor(options: BnnOptions = {}) {
    this.nModels = options.nModels ?? 3;
    this.residualThreshold = options.residualThreshold ?? 1e-3;
    check(
      Number.isInteger(this.nModels) && this.nModels > 0,
      'nModels',
      `expected a positive integer, got ${this.nModels}`,
    );
    check(
      this.residualThreshold >= 0,
      'residualThreshold',
      `expected >= 0, got ${this.residualThreshold}`,
    );
    this.memberOptions = { ...options, gradientClipValue: options.gradientClipValue ?? 0.5 };
  }

  /** Trains the members in turn; returns all members' epoch losses, concatenated. */
  fit(
    Xin: Matrix | number[][] | Mat,
    Yin: Matrix | number[][] | Mat,
    options: BnnFitOptions = {},
  ): number[] {
    const X = toMat(Xin, 'X');
    const Y = toMat(Yin, 'Y');
    check(Y.rows === X.rows, 'Y', `has ${Y.rows} rows but X has ${X.rows}`);
    const residuals: Mat = { rows: Y.rows, cols: Y.cols, data: Float64Array.from(Y.data) };
    this.members = [];
    this.histories = [];
    this.residualNorms = [];
    this.stoppedEarly = false;
    const seed = this.memberOptions.seed ?? 42;
    for (let m = 0; m < this.nModels; m++) {
      const member = new SimpleNeuralNetwork({ ...this.memberOptions, seed: seed + m });
      const history = member.fit(X, residuals, {
        epochs: options.epochs ?? 10,
        batchSize: options.batchSize ?? 32,
        lossOn: options.lossOn ?? 'full',
        onEpoch: (epoch, loss) => options.onEpoch?.(m, epoch, loss),
      });
      this.members.push(member);
      this.histories.push(history);
      const pred = member.predictMat(X);
      for (let i = 0; i < residuals.data.length; i++) residuals.data[i] -= pred.data[i] as number;
      const norms = columnNorms(residuals);
      this.residualNorms.push(norms);
      if (norms.every((v) => v < this.residualThreshold)) {
        this.stoppedEarly = true;
        break;
      }
    }
    return this.histories.flat();
  }

  /** Sum of the members' outputs, unclipped (can leave [0, 1]). */
  predictRawMat(Xin: Matrix | number[][] | Mat): Mat {
    check(this.members.length > 0, 'model', 'not fitted yet: call fit() first');
    const X = toMat(Xin, 'X');
    let sum: Mat | null = null;
    for (const member of this.members) {
      const p = member.predictMat(X);
      if (sum === null) sum = zeros(p.rows, p.cols);
      for (let i = 0; i < p.data.length; i++) sum.data[i] += p.data[i] as number;
    }
    return sum as Mat;
  }

  predictRaw(Xin: Matrix | number[][] | Mat): Matrix {
    return toMatrix(this.predictRawMat(Xin));
  }

  /** The summed prediction clipped to [0, 1], comparable with the SNN's probabilities. */
  predict(Xin: Matrix | number[][] | Mat): Matrix {
    const raw = this.predictRawMat(Xin);
    for (let i = 0; i < raw.data.length; i++)
      raw.data[i] = Math.min(1, Math.max(0, raw.data[i] as number));
    return toMatrix(raw);
  }
}

function columnNorms(a: Mat): number[] {
  const out = new Array<number>(a.cols).fill(0);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.cols; j++)
      out[j] = (out[j] as number) + (a.data[i * a.cols + j] as number) ** 2;
  return out.map(Math.sqrt);
}
