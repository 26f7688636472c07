import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors';
import { KernelSeeds } from './init';
import { SeededDropout } from './seeded-dropout';

/** Names of the head's layers; everything else in a classifier belongs to the base. */
export const HEAD_LAYER_NAMES: readonly string[] = ['avg_pool', 'fc1', 'dropout', 'predictions'];

export interface ClassifierOptions {
  numClasses: number;
  /**
   * Width of the hidden dense layer. The seed's diagram of its head is lost; its text names an L2
   * penalty of 0.0075 on "the dense layer" and a 50% dropout, which is the head of Keras's
   * fine-tuning tutorial ("Building powerful image classification models using very little data",
   * Chollet 2016: Dense(256, relu) -> Dropout(0.5) -> classifier) that the seed otherwise follows,
   * so 256 is the default. It is also a sensible bottleneck for 2048 Xception features and a
   * handful of classes on a small data set.
   */
  denseUnits?: number;
  /** L2 factor on the hidden dense kernel (loss += l2 * sum(w^2)); seed: 0.0075. */
  l2?: number;
  /** Dropout rate after the hidden dense layer; seed: 0.5. */
  dropout?: number;
  /** Seed of the head's initial weights and of its dropout masks. */
  seed: number;
}

/**
 * The first study's classifier: `base` (without top) -> GlobalAveragePooling2D -> Dense(relu, L2)
 * -> Dropout -> Dense(numClasses, softmax), as one flat model sharing the base's layers, so that
 * `freezeBlocks` reaches base layers by name and saved weights list every layer once.
 */
export function buildClassifier(base: tf.LayersModel, options: ClassifierOptions): tf.LayersModel {
  const { numClasses, seed } = options;
  const denseUnits = options.denseUnits ?? 256;
  const l2 = options.l2 ?? 0.0075;
  const dropout = options.dropout ?? 0.5;
  check(
    Number.isInteger(numClasses) && numClasses >= 2,
    'numClasses',
    `expected an integer >= 2, got ${numClasses}`,
  );
  check(
    Number.isInteger(denseUnits) && denseUnits >= 1,
    'denseUnits',
    `expected a positive integer, got ${denseUnits}`,
  );
  check(Number.isFinite(l2) && l2 >= 0, 'l2', `expected a number >= 0, got ${l2}`);
  check(Number.isInteger(seed), 'seed', `expected an integer, got ${seed}`);
  check(
    base.outputs.length === 1 && base.outputs[0]?.shape.length === 4,
    'base',
    `expected a model with one 4D feature-map output, got ${base.outputs.map((o) => `[${o.shape.join(', ')}]`).join(', ')}`,
  );
  const seeds = new KernelSeeds(seed, 'classifier');
  const features = base.outputs[0] as tf.SymbolicTensor;
  let x = tf.layers
    .globalAveragePooling2d({ name: 'avg_pool' })
    .apply(features) as tf.SymbolicTensor;
  x = tf.layers
    .dense({
      units: denseUnits,
      activation: 'relu',
      kernelRegularizer: tf.regularizers.l2({ l2 }),
      kernelInitializer: seeds.glorotUniform(),
      name: 'fc1',
    })
    .apply(x) as tf.SymbolicTensor;
  x = new SeededDropout({ rate: dropout, seed, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({
      units: numClasses,
      activation: 'softmax',
      kernelInitializer: seeds.glorotUniform(),
      name: 'predictions',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: x, name: `${base.name}_classifier` });
}
