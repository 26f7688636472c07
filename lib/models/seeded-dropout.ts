import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { ArtstyleError, check } from '../util/errors';
import { Rng } from '../util/rng';

export interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Dropout whose mask is a pure function of (seed, step, input shape), so that a training run that
 * is stopped and resumed from a checkpoint draws exactly the masks it would have drawn without the
 * interruption. tfjs's own Dropout either draws from a global stream (not resumable) or, given a
 * seed, repeats one mask forever.
 *
 * `step` is the index of the next training call; it advances by one after each training call, and
 * the trainer pins it with `setDropoutStep` before every batch (the global batch index), so a
 * resumed run only needs to set it once. Outside training the layer is the identity. Surviving
 * units are scaled by 1 / (1 - rate), as in Keras.
 */
export class SeededDropout extends tf.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  readonly seed: number;
  step = 0;
  /**
   * Set while a batch is trained in micro-batches (lib/train/microbatch.ts): the mask is drawn for
   * the whole batch of `total` rows and rows `start`.. are used, so each image gets the mask it
   * would have had in the whole batch. null: the mask has the input's shape.
   */
  batchSlice: { start: number; total: number } | null = null;

  constructor(args: SeededDropoutArgs) {
    super({
      ...(args.name !== undefined ? { name: args.name } : {}),
      ...(args.trainable !== undefined ? { trainable: args.trainable } : {}),
    });
    check(
      Number.isFinite(args.rate) && args.rate >= 0 && args.rate < 1,
      'rate',
      `expected a dropout rate in [0, 1), got ${args.rate}`,
    );
    check(Number.isInteger(args.seed), 'seed', `expected an integer, got ${args.seed}`);
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  /** The seed of the uniform draw of training call `step`. */
  maskSeed(step: number): number {
    return new Rng(this.seed).fork(`step:${step}`).nextUint32();
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined)
      throw new ArtstyleError('invalid-argument', `${this.name}: no input`, this.name);
    if (kwargs['training'] !== true || this.rate === 0) return tf.tidy(() => x.clone());
    const seed = this.maskSeed(this.step);
    this.step += 1;
    const slice = this.batchSlice;
    return tf.tidy(() => {
      const keep = 1 - this.rate;
      const shape = slice ? [slice.total, ...x.shape.slice(1)] : x.shape;
      let uniform = tf.randomUniform(shape, 0, 1, 'float32', seed);
      if (slice) uniform = tf.slice(uniform, slice.start, x.shape[0]);
      const mask = uniform.less(keep).toFloat();
      return x.mul(mask).div(keep);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);

/** Sets the step of every SeededDropout in `model` (the trainer calls it before each batch). */
export function setDropoutStep(model: tf.LayersModel, step: number): void {
  check(Number.isInteger(step) && step >= 0, 'step', `expected an integer >= 0, got ${step}`);
  for (const layer of model.layers) if (layer instanceof SeededDropout) layer.step = step;
}
