import * as tf from '@tensorflow/tfjs';
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
  if (spec.kind === 'rmsprop') return tf.train.rmsprop(spec.lr, 0.9, 0, CROSSENTROPY_EPSILON);
  if (spec.kind === 'adam') return tf.train.adam(spec.lr, 0.9, 0.999, CROSSENTROPY_EPSILON);
  if (spec.kind === 'sgd') {
    const m = spec.momentum ?? 0;
    return m === 0 ? tf.train.sgd(spec.lr) : tf.train.momentum(spec.lr, m, false);
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
