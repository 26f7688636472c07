import * as tf from '@tensorflow/tfjs';
import { ArtstyleError, check } from '../util/errors';
import { HEAD_LAYER_NAMES } from './classifier';

export const XCEPTION_BLOCKS = 14;

/** Residual 1x1 convolution (and its batch norm) number k bypasses this block. */
const RESIDUAL_BLOCKS = [2, 3, 4, 13];

/**
 * The Xception block (1..14) a layer belongs to, by its Keras name; null for the input layer and
 * for anything that is not part of Xception (the head). Named layers carry their block in the
 * name (`block7_sepconv2_bn`). The unnamed ones follow Keras's creation order: the residual
 * convolutions `conv2d`, `conv2d_1`, `conv2d_2`, `conv2d_3` and their batch norms belong to the
 * block they bypass (2, 3, 4, 13), and `add_k` closes block k + 2.
 */
export function xceptionBlockOf(layerName: string): number | null {
  const named = /^block(\d+)_/.exec(layerName);
  if (named) {
    const b = Number(named[1]);
    return b >= 1 && b <= XCEPTION_BLOCKS ? b : null;
  }
  const residual = /^(?:conv2d|batch_normalization)(?:_(\d+))?$/.exec(layerName);
  if (residual) return RESIDUAL_BLOCKS[Number(residual[1] ?? 0)] ?? null;
  const add = /^add(?:_(\d+))?$/.exec(layerName);
  if (add) {
    const k = Number(add[1] ?? 0);
    return k <= 11 ? k + 2 : null;
  }
  return null;
}

/**
 * Freezes Xception blocks 1..n and makes every other layer (later blocks, the head) trainable, as
 * the first study's sweep does ("block3" = first three blocks frozen). Frozen batch norms then run
 * in inference mode (see KerasBatchNormalization). As in Keras, compile the model again after
 * changing what is frozen: tfjs collects the trainable weights at compile time.
 */
export function freezeBlocks(model: tf.LayersModel, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > XCEPTION_BLOCKS) {
    throw new ArtstyleError(
      'invalid-argument',
      `n: expected an integer number of Xception blocks to freeze in 0..${XCEPTION_BLOCKS}, got ${n}`,
      'n',
    );
  }
  check(
    model.layers.some((l) => xceptionBlockOf(l.name) !== null),
    'model',
    `${model.name} has no Xception blocks (no layer named block1_... to block14_...)`,
  );
  for (const layer of model.layers) {
    const block = xceptionBlockOf(layer.name);
    layer.trainable = block === null || block > n;
  }
}

/**
 * Freezes the whole base network and leaves only the classifier head trainable (the pretraining
 * phase of the first study). Works for any base; a bare base without head ends fully frozen.
 * Compile again afterwards.
 */
export function freezeBase(model: tf.LayersModel): void {
  for (const layer of model.layers) layer.trainable = HEAD_LAYER_NAMES.includes(layer.name);
}
