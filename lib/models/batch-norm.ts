import * as tf from '@tensorflow/tfjs';
import type {
  BatchNormalization,
  BatchNormalizationLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/normalization';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { batchNormTraining, fusedBatchNormAvailable } from '../backend/batch-norm-kernels';

// The bundle does not export the class itself, only its factory; take the constructor from an
// instance (which allocates nothing until it is built) so that we can subclass it.
const TfBatchNormalization = tf.layers.batchNormalization({})
  .constructor as typeof BatchNormalization;

/** The private state of tfjs's BatchNormalization that the fused training call needs. */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * BatchNormalization with the semantics Keras has had since 2.1.3: a layer whose `trainable` is
 * false runs in inference mode even inside a training step, i.e. it normalises with its moving
 * statistics and does not update them. Plain tfjs keeps using batch statistics and keeps moving
 * the averages of a frozen layer, so a "frozen" block would still drift during fine-tuning.
 * Default epsilon and momentum are those of Keras (1e-3, 0.99).
 *
 * In training mode on the wasm and cpu backends the normalisation is one op with its own kernels
 * and gradient (lib/backend/batch-norm-kernels.ts) instead of tfjs's composition of `moments` and
 * `batchNorm`: the same function up to float32 summation order, in a handful of passes instead of
 * about 75 kernel calls per layer and step. The moving averages are updated exactly as tfjs does.
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
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (training && inputs && input && this.fusable(input)) return this.fusedTrainingCall(input);
    return super.call(inputs, { ...kwargs, training });
  }

  /** The fused op covers the usual case: channels last, with both gamma and beta. */
  private fusable(input: tf.Tensor): boolean {
    const s = this as unknown as BatchNormState;
    const axis = s.axis < 0 ? s.axis + input.rank : s.axis;
    return (
      axis === input.rank - 1 &&
      input.rank >= 2 &&
      input.dtype === 'float32' &&
      s.center &&
      s.scale &&
      s.gamma !== null &&
      s.beta !== null &&
      fusedBatchNormAvailable()
    );
  }

  private fusedTrainingCall(input: tf.Tensor): tf.Tensor {
    const s = this as unknown as BatchNormState;
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormTraining(
        input,
        s.gamma!.read(),
        s.beta!.read(),
        s.epsilon,
      );
      // As tfjs-layers' BatchNormalization updates its moving statistics in a training call.
      const movingAverage = (variable: tf.LayerVariable, value: tf.Tensor) =>
        tf.tidy(() => {
          const decay = 1 - s.momentum;
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
        });
      movingAverage(s.movingMean, mean);
      movingAverage(s.movingVariance, variance);
      return y;
    });
  }
}
tf.serialization.registerClass(KerasBatchNormalization);
