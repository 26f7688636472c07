import * as tf from '@tensorflow/tfjs';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers';
import { check } from '../util/errors';
import { Rng } from '../util/rng';

/**
 * Seeded Glorot-uniform initialisers (Keras's default for convolution and dense kernels), one
 * independent seed per layer, so that a model trained from scratch starts from the same weights
 * every time it is built with the same seed.
 */
export class KernelSeeds {
  private readonly rng: Rng;

  constructor(seed: number, label: string) {
    check(Number.isInteger(seed), 'seed', `expected an integer, got ${seed}`);
    this.rng = new Rng(seed).fork(label);
  }

  glorotUniform(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.rng.nextUint32() });
  }
}
