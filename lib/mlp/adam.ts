/**
 * The seed's third model: the SNN trained with Adam instead of plain SGD.
 *   m_t = b1 m_{t-1} + (1 - b1) g,   v_t = b2 v_{t-1} + (1 - b2) g^2
 *   m^ = m_t / (1 - b1^t),  v^ = v_t / (1 - b2^t),  p <- p - lr m^ / (sqrt(v^) + eps)
 * Defaults: beta1 0.9, beta2 0.999, eps 1e-8 (the seed); the seed does not state its learning
 * rate, so the default is Adam's usual 0.001 (Kingma and Ba 2015).
 * One difference from the seed's listing, on purpose: the seed increments t inside its update
 * helper, which it calls twice per step (weights, then biases), so its bias corrections use
 * t = 1, 3, 5... for weights and 2, 4, 6... for biases. Here t counts optimisation steps.
 */
import { check } from '../util/errors';
import { checkSameShape, PARAM_NAMES, Params, SimpleNeuralNetwork, SnnOptions } from './snn';

export interface AdamOptions extends SnnOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class AdamNeuralNetwork extends SimpleNeuralNetwork {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Number of Adam steps taken so far. */
  t = 0;
  private m: Params | null = null;
  private v: Params | null = null;

  constructor(options: AdamOptions = {}) {
    super({ ...options, learningRate: options.learningRate ?? 0.001 });
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    check(this.beta1 >= 0 && this.beta1 < 1, 'beta1', `expected [0, 1), got ${this.beta1}`);
    check(this.beta2 >= 0 && this.beta2 < 1, 'beta2', `expected [0, 1), got ${this.beta2}`);
    check(this.epsilon > 0, 'epsilon', `expected > 0, got ${this.epsilon}`);
  }

  /** The weights and both moments live in the engine's memory, updated there in place. */
  protected override residentCopies(): number {
    return 3;
  }

  override init(inputSize: number, outputSize: number): void {
    super.init(inputSize, outputSize);
    const p = this.requireParams();
    const zerosLike = (): Params => {
      const out: Partial<Params> = {};
      for (const name of PARAM_NAMES) out[name] = this.products.alloc(p[name].rows, p[name].cols);
      return out as Params;
    };
    this.m = zerosLike();
    this.v = zerosLike();
    this.t = 0;
  }

  /** The update of the file comment (lib/mlp/updates.ts `adamUpdate`, in the engine). */
  override step(grads: Params): void {
    const p = this.requireParams();
    const m = this.m as Params;
    const v = this.v as Params;
    this.t += 1;
    const constants = {
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      learningRate: this.learningRate,
      c1: 1 - this.beta1 ** this.t,
      c2: 1 - this.beta2 ** this.t,
    };
    for (const name of PARAM_NAMES) {
      checkSameShape(grads[name], p[name], name);
      this.products.adam(p[name], grads[name], m[name], v[name], constants);
    }
  }
}
