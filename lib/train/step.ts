import * as tf from '@tensorflow/tfjs';
import { forwardBatch, type Preprocess } from './forward';
import { perSampleCrossEntropy, regularizationLoss } from './losses';
import type { Batch } from './types';

/**
 * The training step: one batch in, one optimizer update out. This is the seam between the loop
 * (epochs, callbacks, checkpoints) and how an update is computed: the whole batch at once (here),
 * split into micro-batches whose gradients are accumulated, or spread over worker threads. Every
 * implementation must apply the same update as `wholeBatchStep` for the same batch, up to float
 * rounding, so that the loop and its callbacks never need to know which one runs.
 */
export interface StepContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** The trainable variables in a fixed order (lib/train/weights orderedWeights). */
  variables: tf.Variable[];
  numClasses: number;
  /** One weight per class, or null when every sample weighs 1. */
  classWeights: tf.Tensor1D | null;
  /** Raw 0..255 pixels -> model input (e.g. Xception's scaling to [-1, 1]). */
  preprocess?: Preprocess;
}

export interface StepResult {
  /** The batch's training loss (mean weighted cross-entropy + regularisation). */
  loss: number;
  /** Images of the batch whose top-1 prediction was right. */
  correct: number;
}

export type TrainStep = (batch: Batch, ctx: StepContext) => Promise<StepResult>;

export { CROSSENTROPY_EPSILON, perSampleCrossEntropy, regularizationLoss } from './losses';

/** Today's step: the whole batch in one `optimizer.minimize`. */
export const wholeBatchStep: TrainStep = async (batch, ctx) => {
  const { model, optimizer, variables, numClasses, classWeights, preprocess } = ctx;
  const [lossT, rightT] = tf.tidy(() => {
    const labels = tf.tensor1d(batch.labels, 'int32');
    let hit: tf.Scalar | undefined;
    const loss = optimizer.minimize(
      () => {
        const probs = forwardBatch(model, batch, { preprocess, training: true });
        let ce: tf.Tensor1D = perSampleCrossEntropy(
          tf.oneHot(labels, numClasses) as tf.Tensor2D,
          probs,
        );
        if (classWeights) ce = tf.mul(ce, tf.gather(classWeights, labels));
        // f runs inside the engine's own tidy: keep the hit count past it (disposed below).
        hit = tf.keep(
          tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'int32')) as tf.Scalar,
        );
        return tf.add(tf.mean(ce), regularizationLoss(model)) as tf.Scalar;
      },
      true,
      variables,
    ) as tf.Scalar;
    return [loss, hit!];
  });
  const loss = (await lossT.data())[0]!;
  const correct = (await rightT.data())[0]!;
  tf.dispose([lossT, rightT]);
  return { loss, correct };
};
