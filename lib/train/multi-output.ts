import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors';
import { batchInput } from './forward';
import { perSampleBinaryCrossEntropy, perSampleCrossEntropy } from './losses';
import type { TrainStep } from './step';
import type { Batch } from './types';

/**
 * A training step for a model with several outputs (heads), each with its own loss, for the
 * trainer's step seam (lib/train/step.ts). The loss is the one a tfjs LayersModel compiled with
 * one loss per output minimises in `trainOnBatch`: per sample, the heads' losses are added in
 * output order (each times its weight), the mean over the batch is taken, and the model's
 * regularisation losses are added one by one. With the same optimizer the update is the same as
 * `trainOnBatch`'s, bit for bit (test/train/multi-output.test.ts).
 */

/** Keras' names: softmax heads with one-hot (or soft) targets; sigmoid heads with targets in [0, 1]. */
export type OutputLossKind = 'categoricalCrossentropy' | 'binaryCrossentropy';

export interface OutputLoss {
  kind: OutputLossKind;
  /** Multiplies this head's per-sample loss; default 1. */
  weight?: number | undefined;
}

export interface MultiOutputStepOptions {
  /** One loss per model output, in the model's output order. */
  losses: OutputLoss[];
  /** The batch's targets, one [n, units] tensor per output (disposed by the step). */
  targets(batch: Batch): tf.Tensor2D[];
}

/** Per-sample loss of one output: [n]. */
function outputLoss(kind: OutputLossKind, target: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor1D {
  return kind === 'categoricalCrossentropy'
    ? perSampleCrossEntropy(target, output)
    : perSampleBinaryCrossEntropy(target, output);
}

/**
 * The total loss over all outputs (see the module comment): a scalar to minimise. `outputs` and
 * `targets` are in the order of `losses`.
 */
export function multiOutputLoss(
  model: tf.LayersModel,
  losses: OutputLoss[],
  targets: tf.Tensor2D[],
  outputs: tf.Tensor2D[],
): tf.Scalar {
  check(
    outputs.length === losses.length && targets.length === losses.length,
    'losses',
    `expected one loss and one target per model output (${outputs.length}), got ${losses.length} losses and ${targets.length} targets`,
  );
  let total: tf.Tensor | null = null;
  losses.forEach((l, i) => {
    let per: tf.Tensor = outputLoss(l.kind, targets[i]!, outputs[i]!);
    if (l.weight !== undefined && l.weight !== 1) per = tf.mul(per, l.weight);
    total = total === null ? per : tf.add(total, per);
  });
  let loss = tf.mean(total!) as tf.Scalar;
  for (const r of model.calculateLosses()) loss = tf.add(loss, r);
  return loss;
}

function validateLosses(losses: OutputLoss[]): void {
  check(losses.length > 0, 'losses', 'expected at least one output loss');
  losses.forEach((l, i) => {
    check(
      l.kind === 'categoricalCrossentropy' || l.kind === 'binaryCrossentropy',
      `losses[${i}].kind`,
      `expected categoricalCrossentropy or binaryCrossentropy, got ${JSON.stringify(l.kind)}`,
    );
    const w = l.weight ?? 1;
    check(
      Number.isFinite(w) && w >= 0,
      `losses[${i}].weight`,
      `expected a finite weight >= 0, got ${w}`,
    );
  });
}

/**
 * The step for a multi-output model: the whole batch in one `optimizer.minimize` of
 * `multiOutputLoss`. `correct` counts the images whose top-1 prediction of the first output is
 * `batch.labels`. Class weights (`ctx.classWeights`) are not supported here: weight the heads.
 */
export function multiOutputStep(o: MultiOutputStepOptions): TrainStep {
  validateLosses(o.losses);
  return async (batch, ctx) => {
    const { model, optimizer, variables, preprocess } = ctx;
    check(
      ctx.classWeights === null,
      'classWeights',
      'the multi-output step takes no class weights',
    );
    const [lossT, rightT] = tf.tidy(() => {
      const targets = o.targets(batch);
      const labels = tf.tensor1d(batch.labels, 'int32');
      let hit: tf.Scalar | undefined;
      const loss = optimizer.minimize(
        () => {
          const x = batchInput(batch, preprocess);
          const out = model.apply(x, { training: true });
          const outputs = (Array.isArray(out) ? out : [out]) as tf.Tensor2D[];
          // f runs inside the engine's own tidy: keep the hit count past it (disposed below).
          hit = tf.keep(
            tf.sum(tf.cast(tf.equal(tf.argMax(outputs[0]!, -1), labels), 'int32')) as tf.Scalar,
          );
          return multiOutputLoss(model, o.losses, targets, outputs);
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
}
