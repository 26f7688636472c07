import * as tf from '@tensorflow/tfjs';
import type {
  BatchNormalization,
  BatchNormalizationLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/normalization';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';

// The bundle does not export the class itself, only its factory; take the constructor from an
// instance (which allocates nothing until it is built) so that we can subclass it.
const TfBatchNormalization = tf.layers.batchNormalization({})
  .constructor as typeof BatchNormalization;

/**
 * BatchNormalization with the semantics Keras has had since 2.1.3: a layer whose `trainable` is
 * false runs in inference mode even inside a training step, i.e. it normalises with its moving
 * statistics and does not update them. Plain tfjs keeps using batch statistics and keeps moving
 * the averages of a frozen layer, so a "frozen" block would still drift during fine-tuning.
 * Default epsilon and momentum are those of Keras (1e-3, 0.99).
 */
export class KerasBatchNormalization extends TfBatchNormalization {
  static override className = 'KerasBatchNormalization';

  constructor(args?: BatchNormalizationLayerArgs) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    // A model's `trainable = false` in tfjs only flags the layers' weights, not the layers, so a
    // BN whose gamma and beta are both frozen counts as frozen too.
    const frozen = !this.trainable || (this.built && this.trainableWeights.length === 0);
    const training = !frozen && kwargs['training'] === true;
    return super.call(inputs, { ...kwargs, training });
  }
}
tf.serialization.registerClass(KerasBatchNormalization);
