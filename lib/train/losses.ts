import * as tf from '@tensorflow/tfjs';

/** Keras' epsilon: probabilities are clipped to [1e-7, 1 - 1e-7] before the logarithm. */
export const CROSSENTROPY_EPSILON = 1e-7;

/** Keras `categorical_crossentropy` on probabilities, one value per sample. */
export function perSampleCrossEntropy(oneHot: tf.Tensor2D, probs: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const p = tf
      .div(probs, tf.sum(probs, -1, true))
      .clipByValue(CROSSENTROPY_EPSILON, 1 - CROSSENTROPY_EPSILON);
    return tf.neg(tf.sum(tf.mul(oneHot, tf.log(p)), -1)) as tf.Tensor1D;
  });
}

/** The model's regularisation losses (e.g. the head's L2), summed; 0 when it has none. */
export function regularizationLoss(model: tf.LayersModel): tf.Scalar {
  const losses = model.calculateLosses();
  return losses.length === 0 ? tf.scalar(0) : (tf.addN(losses) as tf.Scalar);
}

/**
 * Keras `binary_crossentropy` on probabilities (sigmoid outputs; targets in [0, 1], soft targets
 * allowed), one value per sample: the mean over the units, computed as tfjs-layers does (clip,
 * back to logits, the stable logistic loss).
 */
export function perSampleBinaryCrossEntropy(target: tf.Tensor2D, probs: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const p = tf.clipByValue(probs, CROSSENTROPY_EPSILON, 1 - CROSSENTROPY_EPSILON);
    const logits = tf.log(tf.div(p, tf.sub(1, p)));
    const perUnit = tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, target)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    );
    return tf.mean(perUnit, -1) as tf.Tensor1D;
  });
}
