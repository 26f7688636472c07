import * as tf from '@tensorflow/tfjs';

interface MovingAverageLayer {
  momentum: number;
  trainable: boolean;
  getClassName(): string;
}

function isBatchNorm(layer: tf.layers.Layer): boolean {
  return /BatchNormalization$/.test(layer.getClassName());
}

/**
 * Re-estimates the moving mean and variance of every trainable BatchNormalization layer as the
 * exact average of the batch statistics over `batches` ("precise BN").
 *
 * Why: with Keras's momentum of 0.99 the moving statistics need several hundred steps to forget
 * their initial values (mean 0, variance 1). A short run (the teaching profile, the bundled
 * bases) ends with weights trained on batch statistics but moving statistics that are still far
 * from them, and inference is then close to chance although training accuracy is high. Setting
 * the momentum of batch k to 1 - 1/k makes each moving statistic the running mean of the k batch
 * statistics seen so far; the weights are not touched. Frozen layers keep their statistics.
 *
 * `batches` yields model inputs (already preprocessed); the caller disposes them. Returns the
 * number of layers recalibrated.
 */
export async function recalibrateBatchNorm(
  model: tf.LayersModel,
  batches: Iterable<tf.Tensor> | AsyncIterable<tf.Tensor>,
): Promise<number> {
  const layers = model.layers.filter(
    (l) => isBatchNorm(l) && l.trainable,
  ) as unknown as MovingAverageLayer[];
  const saved = layers.map((l) => l.momentum);
  let k = 0;
  try {
    for await (const x of batches) {
      k++;
      for (const l of layers) l.momentum = 1 - 1 / k;
      tf.tidy(() => {
        model.apply(x, { training: true });
      });
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i] as number));
  }
  return k > 0 ? layers.length : 0;
}
