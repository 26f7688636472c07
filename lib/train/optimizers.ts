import * as tf from '@tensorflow/tfjs';
import {
  fusedOptimizersAvailable,
  momentumUpdate,
  rmspropUpdate,
} from '../backend/optimizer-kernels';
import { ArtstyleError } from '../util/errors';
import { CROSSENTROPY_EPSILON } from './losses';

/**
 * The study's optimizers. tfjs's RMSprop (rho 0.9, epsilon 1e-7 as Keras) divides by
 * sqrt(ms + eps) where Keras divides by sqrt(ms) + eps, a difference only for near-zero gradients;
 * SGD with momentum is the same update as Keras' for a constant learning rate. Adam has Keras'
 * defaults (beta1 0.9, beta2 0.999, epsilon 1e-7), the update of `tf.train.adam(lr)` on a float32
 * backend.
 */
export type OptimizerKind = 'rmsprop' | 'sgd' | 'adam';

export interface OptimizerSpec {
  kind: OptimizerKind;
  lr: number;
  /** SGD momentum (0 = plain SGD). RMSprop's own momentum is 0, as in Keras' default. */
  momentum?: number;
}

export function makeOptimizer(spec: OptimizerSpec): tf.Optimizer {
  if (spec.kind === 'rmsprop') return new FusedRMSProp(spec.lr, 0.9, 0, CROSSENTROPY_EPSILON);
  if (spec.kind === 'adam') return tf.train.adam(spec.lr, 0.9, 0.999, CROSSENTROPY_EPSILON);
  if (spec.kind === 'sgd') {
    const m = spec.momentum ?? 0;
    return m === 0 ? tf.train.sgd(spec.lr) : new FusedMomentum(spec.lr, m);
  }
  throw new ArtstyleError(
    'invalid-argument',
    `optimizer.kind: ${JSON.stringify((spec as { kind: unknown }).kind)} is not one of rmsprop, sgd, adam`,
    'optimizer.kind',
  );
}

/**
 * tfjs 4.22's MomentumOptimizer.dispose() forgets its parent's learning-rate scalar, one tensor
 * per run; dispose it here so a sweep of many runs keeps memory flat.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  const c = (optimizer as unknown as { c?: tf.Tensor }).c;
  if (c && !c.isDisposed) c.dispose();
}

type Gradients = Parameters<tf.MomentumOptimizer['applyGradients']>[0];

/** The gradient of each named variable, in the order the optimizers number their slots. */
function gradientList(grads: Gradients): Array<{ name: string; grad: tf.Tensor | undefined }> {
  return Array.isArray(grads)
    ? grads.map((g) => ({ name: g.name, grad: g.tensor }))
    : Object.keys(grads).map((name) => ({ name, grad: grads[name] as tf.Tensor | undefined }));
}

/** A slot variable as tfjs's optimizers make them: zeros like the value, not trainable. */
function slot(value: tf.Variable, name: string): { originalName: string; variable: tf.Variable } {
  return { originalName: name, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
}

/**
 * tfjs's MomentumOptimizer with the update of each variable as one kernel where the backend has it
 * (lib/backend/optimizer-kernels.ts: the same float32 operations, so the same weights bit for bit),
 * else tfjs's own. The slot variables, their names and order (checkpoints) are tfjs's.
 */
class FusedMomentum extends tf.MomentumOptimizer {
  constructor(learningRate: number, momentum: number) {
    super(learningRate, momentum, false);
  }

  override applyGradients(variableGradients: Gradients): void {
    if (!fusedOptimizersAvailable()) return super.applyGradients(variableGradients);
    const self = this as unknown as {
      accumulations: Array<{ originalName: string; variable: tf.Variable } | undefined>;
      momentum: number;
    };
    const attrs = { m: self.momentum, c: -this.learningRate };
    gradientList(variableGradients).forEach(({ name, grad }, i) => {
      const value = tf.engine().registeredVariables[name]!;
      self.accumulations[i] ??= slot(value, `${name}/momentum`);
      if (grad == null) return;
      const acc = self.accumulations[i]!.variable;
      tf.tidy(() => {
        const [newValue, newAcc] = momentumUpdate(value, acc, grad, attrs);
        acc.assign(newAcc);
        value.assign(newValue);
      });
    });
    this.incrementIterations();
  }
}

/** tfjs's RMSPropOptimizer (uncentred) with one kernel per variable, as FusedMomentum. */
class FusedRMSProp extends tf.RMSPropOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    const self = this as unknown as {
      centered: boolean;
      accumulatedMeanSquares: Array<{ originalName: string; variable: tf.Variable } | undefined>;
      accumulatedMoments: Array<{ originalName: string; variable: tf.Variable } | undefined>;
    };
    if (!fusedOptimizersAvailable() || self.centered)
      return super.applyGradients(variableGradients);
    const attrs = {
      rho: this.decay,
      momentum: this.momentum,
      lr: this.learningRate,
      eps: this.epsilon,
    };
    gradientList(variableGradients).forEach(({ name, grad }, i) => {
      const value = tf.engine().registeredVariables[name]!;
      self.accumulatedMeanSquares[i] ??= slot(value, `${name}/rms`);
      self.accumulatedMoments[i] ??= slot(value, `${name}/momentum`);
      if (grad == null) return;
      const ms = self.accumulatedMeanSquares[i]!.variable;
      const mom = self.accumulatedMoments[i]!.variable;
      tf.tidy(() => {
        const [newValue, newMs, newMom] = rmspropUpdate(value, ms, mom, grad, attrs);
        ms.assign(newMs);
        mom.assign(newMom);
        value.assign(newValue);
      });
    });
    this.incrementIterations();
  }
}
