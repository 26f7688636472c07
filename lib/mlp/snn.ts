/**
 * The seed's Simple Neural Network (SNN), written from scratch: two ReLU hidden layers, sigmoid
 * outputs (one per genre, multi-label), binary cross-entropy, mini-batch gradient descent.
 *
 * Forward (rows are samples, as in the seed's code):
 *   Z1 = X W1 + b1,  A1 = ReLU(Z1)
 *   Z2 = A1 W2 + b2, A2 = ReLU(Z2)
 *   Z3 = A2 W3 + b3, A3 = sigmoid(Z3)
 * Loss (mean over the n samples of the sum over outputs, 1e-10 inside the logs as the seed):
 *   L = -(1/n) sum_i sum_j [ Y log(A3 + 1e-10) + (1 - Y) log(1 - A3 + 1e-10) ]
 * Backward (the full pass; the seed's listing used dW1 and db1 without computing them):
 *   dZ3 = A3 - Y
 *   dW3 = A2^T dZ3 / n,  db3 = colsum(dZ3) / n
 *   dZ2 = (dZ3 W3^T) * ReLU'(Z2),  dW2 = A1^T dZ2 / n,  db2 = colsum(dZ2) / n
 *   dZ1 = (dZ2 W2^T) * ReLU'(Z1),  dW1 = X^T dZ1 / n,   db1 = colsum(dZ1) / n
 * Update: W <- W - lr dW (SGD here; `AdamNeuralNetwork` overrides `step`).
 */
import { Matrix } from 'ml-matrix';
import { check } from '../util/errors';
import { Rng } from '../util/rng';
import { addRowInPlace, Mat, sumRows, takeRows, toMat, toMatrix, zeros } from './matrix';
import {
  checkEngine,
  createProducts,
  EngineName,
  jsProducts,
  Products,
  residentBytesFor,
} from './wasm-gemm';

export const PARAM_NAMES = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
export type Params = Record<ParamName, Mat>;

export interface SnnOptions {
  /** Hidden layer widths; the seed's [512, 256]. */
  hiddenSizes?: [number, number];
  /** The seed's 0.01. */
  learningRate?: number;
  /** Initial weights are N(0, 1) x weightScale; the seed's 0.01. */
  weightScale?: number;
  /** Seeds the initial weights and the shuffles. */
  seed?: number;
  /**
   * Clip each weight gradient elementwise to [-v, v] before the update (the BNN's 0.5). As in the
   * seed's listing only dW1..dW3 are clipped, not the bias gradients. null: no clipping.
   */
  gradientClipValue?: number | null;
  /**
   * Where the matrix products run: 'wasm' (WebAssembly SIMD), 'js', or 'auto' (wasm where the
   * runtime has it). Both give bit-identical results; wasm is about twice as fast.
   */
  engine?: 'auto' | EngineName;
}

export interface FitOptions {
  /** The seed's SNN default is 20 (its BNN members use 10). */
  epochs?: number;
  batchSize?: number;
  /**
   * 'full' (the seed): after each epoch, one forward pass over all of X gives the epoch's loss.
   * 'batches': the mean of the mini-batch losses seen during the epoch (no extra pass).
   * 'none': no loss at all (nothing is returned or passed to `onEpoch`); the weights trained
   * are the same as with 'full', whose pass only reads them.
   */
  lossOn?: 'full' | 'batches' | 'none';
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface ForwardCache {
  Z1: Mat;
  A1: Mat;
  Z2: Mat;
  A2: Mat;
  Z3: Mat;
  A3: Mat;
}

export const relu = (z: Mat): Mat => {
  const out = zeros(z.rows, z.cols);
  for (let i = 0; i < z.data.length; i++) out.data[i] = Math.max(0, z.data[i] as number);
  return out;
};

const sigmoid = (z: Mat): Mat => {
  const out = zeros(z.rows, z.cols);
  for (let i = 0; i < z.data.length; i++) out.data[i] = 1 / (1 + Math.exp(-(z.data[i] as number)));
  return out;
};

/** dA * ReLU'(Z), in place on dA; ReLU'(0) = 0 as in `Z > 0`. */
const reluBackwardInPlace = (dA: Mat, z: Mat): Mat => {
  for (let i = 0; i < dA.data.length; i++) if ((z.data[i] as number) <= 0) dA.data[i] = 0;
  return dA;
};

const scaleInPlace = (a: Mat, s: number): Mat => {
  for (let i = 0; i < a.data.length; i++) a.data[i] *= s;
  return a;
};

/** The seed's binary cross-entropy: mean over samples of the sum over outputs, 1e-10 in the logs. */
export function binaryCrossEntropy(yPred: Mat, yTrue: Mat): number {
  check(
    yPred.rows === yTrue.rows && yPred.cols === yTrue.cols,
    'yTrue',
    `shape ${yTrue.rows}x${yTrue.cols} differs from the predictions' ${yPred.rows}x${yPred.cols}`,
  );
  let s = 0;
  for (let i = 0; i < yPred.data.length; i++) {
    const p = yPred.data[i] as number;
    const y = yTrue.data[i] as number;
    s += y * Math.log(p + 1e-10) + (1 - y) * Math.log(1 - p + 1e-10);
  }
  return -s / yPred.rows;
}

/** A gradient must have its parameter's shape (the updates run over the flat arrays). */
export function checkSameShape(g: Mat, p: Mat, name: string): void {
  check(
    g.rows === p.rows && g.cols === p.cols,
    `gradient ${name}`,
    `shape ${g.rows}x${g.cols} differs from the parameter's ${p.rows}x${p.cols}`,
  );
}

export class SimpleNeuralNetwork {
  readonly hiddenSizes: [number, number];
  readonly learningRate: number;
  readonly weightScale: number;
  readonly seed: number;
  readonly gradientClipValue: number | null;
  readonly engine: 'auto' | EngineName;
  params: Params | null = null;
  protected readonly rng: Rng;
  /** The matrix products; chosen by `init`, where the weights are allocated in its memory. */
  protected products: Products = jsProducts;

  constructor(options: SnnOptions = {}) {
    this.hiddenSizes = options.hiddenSizes ?? [512, 256];
    this.learningRate = options.learningRate ?? 0.01;
    this.weightScale = options.weightScale ?? 0.01;
    this.seed = options.seed ?? 42;
    this.gradientClipValue = options.gradientClipValue ?? null;
    this.engine = options.engine ?? 'auto';
    for (const h of this.hiddenSizes)
      check(Number.isInteger(h) && h > 0, 'hiddenSizes', `expected positive integers, got ${h}`);
    check(this.learningRate > 0, 'learningRate', `expected > 0, got ${this.learningRate}`);
    check(
      this.gradientClipValue === null || this.gradientClipValue > 0,
      'gradientClipValue',
      `expected > 0 or null, got ${this.gradientClipValue}`,
    );
    this.rng = new Rng(this.seed);
    checkEngine(this.engine);
  }

  /** The engine the products run on ('wasm' or 'js'); known after `init`. */
  get engineUsed(): EngineName {
    return this.products.name;
  }

  /** W ~ N(0,1) x weightScale, b = 0 (the seed). Called by `fit` when not yet initialised. */
  init(inputSize: number, outputSize: number): void {
    const init = this.rng.fork('init');
    const sizes = [inputSize, this.hiddenSizes[0], this.hiddenSizes[1], outputSize];
    const shapes = [1, 2, 3].flatMap((l): [number, number][] => [
      [sizes[l - 1] as number, sizes[l] as number],
      [1, sizes[l] as number],
    ]);
    this.products = createProducts({
      engine: this.engine,
      residentBytes: residentBytesFor(shapes) * this.residentCopies(),
    });
    const p: Partial<Params> = {};
    for (let l = 1; l <= 3; l++) {
      const w = this.products.alloc(sizes[l - 1] as number, sizes[l] as number);
      for (let i = 0; i < w.data.length; i++) w.data[i] = init.normal() * this.weightScale;
      p[`W${l}` as ParamName] = w;
      p[`b${l}` as ParamName] = this.products.alloc(1, sizes[l] as number);
    }
    this.params = p as Params;
  }

  /**
   * How many parameter-sized sets of matrices `init` makes room for in the engine's memory: 1,
   * the weights; a subclass with per-weight state updated next to them (Adam's moments) asks
   * for more and allocates them with `this.products.alloc` after `super.init`.
   */
  protected residentCopies(): number {
    return 1;
  }

  protected requireParams(): Params {
    check(this.params !== null, 'model', 'not fitted yet: call fit() (or init()) first');
    return this.params;
  }

  forward(X: Mat): ForwardCache {
    const { W1, b1, W2, b2, W3, b3 } = this.requireParams();
    check(X.cols === W1.rows, 'X', `expected ${W1.rows} columns, got ${X.cols}`);
    const Z1 = addRowInPlace(this.products.matmul(X, W1), b1);
    const A1 = relu(Z1);
    const Z2 = addRowInPlace(this.products.matmul(A1, W2), b2);
    const A2 = relu(Z2);
    const Z3 = addRowInPlace(this.products.matmul(A2, W3), b3);
    const A3 = sigmoid(Z3);
    return { Z1, A1, Z2, A2, Z3, A3 };
  }

  /** The training loss of outputs A3 against targets Y: the seed's binary cross-entropy. */
  loss(A3: Mat, Y: Mat): number {
    return binaryCrossEntropy(A3, Y);
  }

  /** The full backward pass (see the file comment), unclipped. */
  gradients(X: Mat, Y: Mat, cache: ForwardCache = this.forward(X)): Params {
    const { W2, W3 } = this.requireParams();
    const n = X.rows;
    const { Z1, A1, Z2, A2, A3 } = cache;
    const dZ3 = zeros(A3.rows, A3.cols);
    for (let i = 0; i < dZ3.data.length; i++)
      dZ3.data[i] = (A3.data[i] as number) - (Y.data[i] as number);
    const dW3 = this.products.matmulAT(A2, dZ3, 1 / n);
    const db3 = scaleInPlace(sumRows(dZ3), 1 / n);
    const dZ2 = reluBackwardInPlace(this.products.matmulBT(dZ3, W3), Z2);
    const dW2 = this.products.matmulAT(A1, dZ2, 1 / n);
    const db2 = scaleInPlace(sumRows(dZ2), 1 / n);
    const dZ1 = reluBackwardInPlace(this.products.matmulBT(dZ2, W2), Z1);
    const dW1 = this.products.matmulAT(X, dZ1, 1 / n);
    const db1 = scaleInPlace(sumRows(dZ1), 1 / n);
    return { W1: dW1, b1: db1, W2: dW2, b2: db2, W3: dW3, b3: db3 };
  }

  /** Elementwise clipping of the weight gradients to [-v, v] (the BNN's rule), in place. */
  clipGradients(grads: Params): Params {
    const v = this.gradientClipValue;
    if (v === null) return grads;
    for (const name of ['W1', 'W2', 'W3'] as const) {
      const g = grads[name].data;
      // min(v, max(-v, x)) for every x, NaN and -0 included, without the calls' checks.
      for (let i = 0; i < g.length; i++) {
        const x = g[i] as number;
        if (x > v) g[i] = v;
        else if (x < -v) g[i] = -v;
      }
    }
    return grads;
  }

  /** One update from `grads`. Plain SGD here: p <- p - lr dp. */
  step(grads: Params): void {
    const p = this.requireParams();
    for (const name of PARAM_NAMES) {
      checkSameShape(grads[name], p[name], name);
      this.products.sgd(p[name], grads[name], this.learningRate);
    }
  }

  /** Mini-batch training as in the seed: shuffle each epoch, step per batch. Returns the loss per epoch. */
  fit(
    Xin: Matrix | number[][] | Mat,
    Yin: Matrix | number[][] | Mat,
    options: FitOptions = {},
  ): number[] {
    const X = toMat(Xin, 'X');
    const Y = toMat(Yin, 'Y');
    check(Y.rows === X.rows, 'Y', `has ${Y.rows} rows but X has ${X.rows}`);
    const epochs = options.epochs ?? 20;
    const batchSize = options.batchSize ?? 32;
    check(
      Number.isInteger(epochs) && epochs >= 0,
      'epochs',
      `expected an integer >= 0, got ${epochs}`,
    );
    check(
      Number.isInteger(batchSize) && batchSize > 0,
      'batchSize',
      `expected an integer > 0, got ${batchSize}`,
    );
    if (this.params === null) this.init(X.cols, Y.cols);
    const p = this.requireParams();
    check(X.cols === p.W1.rows, 'X', `expected ${p.W1.rows} columns, got ${X.cols}`);
    check(Y.cols === p.W3.cols, 'Y', `expected ${p.W3.cols} columns, got ${Y.cols}`);
    const lossOn = options.lossOn ?? 'full';
    check(
      lossOn === 'full' || lossOn === 'batches' || lossOn === 'none',
      'lossOn',
      `expected 'full', 'batches' or 'none', got ${String(lossOn)}`,
    );
    const shuffler = this.rng.fork('shuffle');
    const order = Array.from({ length: X.rows }, (_, i) => i);
    const history: number[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffler.shuffle(order);
      let batchLossSum = 0;
      for (let start = 0; start < X.rows; start += batchSize) {
        const end = Math.min(X.rows, start + batchSize);
        const xb = takeRows(X, order, start, end);
        const yb = takeRows(Y, order, start, end);
        const cache = this.forward(xb);
        if (lossOn === 'batches') batchLossSum += this.loss(cache.A3, yb) * (end - start);
        this.step(this.clipGradients(this.gradients(xb, yb, cache)));
      }
      if (lossOn === 'none') continue;
      const loss = lossOn === 'batches' ? batchLossSum / X.rows : this.loss(this.forward(X).A3, Y);
      history.push(loss);
      options.onEpoch?.(epoch, loss);
    }
    return history;
  }

  /** Sigmoid outputs, one row per sample (values in (0, 1)). */
  predictMat(Xin: Matrix | number[][] | Mat): Mat {
    return this.forward(toMat(Xin, 'X')).A3;
  }

  predict(Xin: Matrix | number[][] | Mat): Matrix {
    return toMatrix(this.predictMat(Xin));
  }
}
