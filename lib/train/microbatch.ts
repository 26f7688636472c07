import * as tf from '@tensorflow/tfjs';
import { SeededDropout } from '../models/seeded-dropout';
import { check } from '../util/errors';
import type { Batch } from './types';
import {
  perSampleCrossEntropy,
  regularizationLoss,
  wholeBatchStep,
  type StepContext,
  type StepResult,
  type TrainStep,
} from './step';
import { orderedWeights } from './weights';

/**
 * A training step that splits a batch into micro-batches of at most `microBatch` images,
 * accumulates their gradients and applies ONE optimizer update with the sum, so that a batch whose
 * activations do not fit in memory (full Xception at 299 px, batch 16, on the wasm heap) still
 * makes the update of the whole batch.
 *
 * What is exact (up to float rounding of a sum taken in another order):
 * - the cross-entropy: each micro-batch contributes the sum of its per-sample losses divided by the
 *   WHOLE batch's size, so the contributions add up to the batch mean; class weights multiply the
 *   per-sample losses first (Keras `class_weight`: divided by the batch size, not by the sum of
 *   weights), as in `wholeBatchStep`;
 * - the regularisation loss is added once (in the first micro-batch), so its gradient is counted
 *   once;
 * - the dropout masks: a SeededDropout draws the mask of the whole batch and takes the micro-batch's
 *   rows, so every image gets the mask it gets in the whole batch;
 * - batch normalization in inference mode (frozen blocks, every BN of the base while pretraining):
 *   it uses the moving statistics, which do not depend on the batch;
 * - the reported loss (the batch's, regularisation included) and the count of correct images.
 *
 * What is approximate: batch normalization in TRAINING mode (the BN layers of the blocks that are
 * fine-tuned) normalises each micro-batch with the micro-batch's own mean and variance ("ghost
 * batch normalization", Hoffer et al. 2017), not with the whole batch's. Exact whole-batch
 * statistics would need every layer's statistics over all micro-batches before the next layer can
 * run, i.e. a forward pass per BN layer. The moving averages are still updated ONCE per batch, with
 * the micro-batches' statistics combined as the whole batch's would be (the size-weighted mean of
 * the means; the mean of the variances plus the variance of the means), so their schedule
 * (momentum per batch) is the seed's. How far this moves the results is measured in the README.
 *
 * A batch of at most `microBatch` images is handed to `wholeBatchStep` unchanged, bit for bit.
 */
export function microBatchStep(microBatch: number): TrainStep {
  check(
    Number.isInteger(microBatch) && microBatch >= 1,
    'microBatch',
    `expected an integer >= 1, got ${microBatch}`,
  );
  return (batch, ctx) =>
    batch.n <= microBatch ? wholeBatchStep(batch, ctx) : accumulate(batch, ctx, microBatch);
}

/** The moving statistics of one batch-normalization layer that runs in training mode. */
interface MovingStats {
  mean: tf.LayerVariable;
  variance: tf.LayerVariable;
  momentum: number;
}

function isBatchNorm(layer: tf.layers.Layer): boolean {
  const name = layer.getClassName();
  return name === 'BatchNormalization' || name === 'KerasBatchNormalization';
}

/**
 * The BN layers that normalise with batch statistics in a training call: those with a trainable
 * gamma or beta (a fully frozen one runs in inference mode, see lib/train/weights
 * frozenBatchNormInference and lib/models KerasBatchNormalization).
 */
export function trainingBatchNorms(model: tf.LayersModel): MovingStats[] {
  const byLayer = new Map<
    tf.layers.Layer,
    { trainable: boolean; vars: Map<string, tf.LayerVariable> }
  >();
  for (const w of orderedWeights(model)) {
    if (!isBatchNorm(w.layer)) continue;
    const entry = byLayer.get(w.layer) ?? { trainable: false, vars: new Map() };
    entry.trainable ||= w.trainable;
    const kind = /moving_mean$/.test(w.name)
      ? 'mean'
      : /moving_variance$/.test(w.name)
        ? 'variance'
        : null;
    if (kind) entry.vars.set(kind, w.variable);
    byLayer.set(w.layer, entry);
  }
  const out: MovingStats[] = [];
  for (const [layer, { trainable, vars }] of byLayer) {
    const mean = vars.get('mean');
    const variance = vars.get('variance');
    if (!trainable || !mean || !variance) continue;
    out.push({ mean, variance, momentum: (layer as unknown as { momentum: number }).momentum });
  }
  return out;
}

/**
 * Keeps the moving statistics as they were before the batch, lets each micro-batch update them
 * from there, and at the end writes the combination that one whole-batch update would have
 * written: mean' = m*mean + (1-m)*mu and var' = m*var + (1-m)*sigma2 are linear in (mu, sigma2),
 * so the size-weighted average of the micro-batches' results is the update with the weighted mean
 * of their statistics; the variance of the micro-batch means (recovered from the mean updates,
 * which differ by (1-m)*(mu_k - mu)) is then added to give the whole batch's variance.
 */
export class MovingStatsCombiner {
  private readonly before: tf.Tensor[];
  private readonly sums: { mean: tf.Tensor; variance: tf.Tensor; meanSq: tf.Tensor }[];

  constructor(private readonly stats: MovingStats[]) {
    this.before = stats.flatMap((s) => [tf.clone(s.mean.read()), tf.clone(s.variance.read())]);
    this.sums = stats.map((s) => ({
      mean: tf.zerosLike(s.mean.read()),
      variance: tf.zerosLike(s.variance.read()),
      meanSq: tf.zerosLike(s.mean.read()),
    }));
  }

  /** Puts the statistics back to their values before the batch (before each micro-batch). */
  reset(): void {
    // A variable takes over the written tensor's data: the tidy frees the tensor itself.
    tf.tidy(() =>
      this.stats.forEach((s, i) => {
        s.mean.write(tf.clone(this.before[2 * i]!));
        s.variance.write(tf.clone(this.before[2 * i + 1]!));
      }),
    );
  }

  /** Records the statistics a micro-batch left, weighted by its share of the batch. */
  record(share: number): void {
    this.stats.forEach((s, i) => {
      const old = this.sums[i]!;
      this.sums[i] = tf.tidy(() => {
        const m = s.mean.read();
        const d = tf.sub(m, this.before[2 * i]!);
        return {
          mean: tf.add(old.mean, tf.mul(m, share)),
          variance: tf.add(old.variance, tf.mul(s.variance.read(), share)),
          meanSq: tf.add(old.meanSq, tf.mul(tf.square(d), share)),
        };
      });
      tf.dispose([old.mean, old.variance, old.meanSq]);
    });
  }

  /** Writes the combined update and frees everything. */
  commit(): void {
    this.stats.forEach((s, i) => {
      const { mean, variance, meanSq } = this.sums[i]!;
      const decay = 1 - s.momentum;
      tf.tidy(() => {
        const dMean = tf.sub(mean, this.before[2 * i]!);
        // Variance of the micro-batch means: E[d^2] - E[d]^2 of the mean updates, over (1-m)^2,
        // times (1-m) for its share in the moving variance's update.
        const between = tf.div(tf.sub(meanSq, tf.square(dMean)), decay);
        s.mean.write(tf.clone(mean));
        s.variance.write(tf.add(variance, tf.relu(between)));
      });
    });
    this.dispose();
  }

  dispose(): void {
    tf.dispose(this.before);
    for (const s of this.sums) tf.dispose([s.mean, s.variance, s.meanSq]);
  }
}

export function seededDropouts(model: tf.LayersModel): SeededDropout[] {
  return model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
}

/**
 * The loss and gradients of rows start..start+m of a batch of batch.n: the micro-batch's summed
 * (class-weighted) cross-entropy over the whole batch's size, plus the regularisation loss when
 * `first` (once per batch). Shared with the worker threads of lib/train/parallel.ts, so that both
 * split a batch the same way. The caller sets the dropout layers' batchSlice.
 */
export function microBatchGradients(
  batch: Batch,
  ctx: Pick<StepContext, 'model' | 'variables' | 'numClasses' | 'classWeights' | 'preprocess'>,
  start: number,
  m: number,
  first: boolean,
): { value: tf.Scalar; hit: tf.Scalar; grads: tf.NamedTensorMap } {
  const { model, variables, numClasses, classWeights, preprocess } = ctx;
  const n = batch.n;
  const pixels = batch.height * batch.width * 3;
  return tf.tidy(() => {
    const labels = tf.tensor1d(batch.labels.subarray(start, start + m), 'int32');
    let hit: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const shape: [number, number, number, number] = [m, batch.height, batch.width, 3];
      let x: tf.Tensor4D = tf.tensor4d(
        batch.x.subarray(start * pixels, (start + m) * pixels),
        shape,
      );
      if (preprocess) x = preprocess(x);
      const probs = model.apply(x, { training: true }) as tf.Tensor2D;
      let ce: tf.Tensor1D = perSampleCrossEntropy(
        tf.oneHot(labels, numClasses) as tf.Tensor2D,
        probs,
      );
      if (classWeights) ce = tf.mul(ce, tf.gather(classWeights, labels));
      hit = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'int32')) as tf.Scalar);
      // This micro-batch's share of the batch mean; the regularisation once per batch.
      const part = tf.div(tf.sum(ce), n) as tf.Scalar;
      return first ? (tf.add(part, regularizationLoss(model)) as tf.Scalar) : part;
    }, variables);
    return { value, hit: hit!, grads };
  });
}

async function accumulate(batch: Batch, ctx: StepContext, microBatch: number): Promise<StepResult> {
  const { model, optimizer, variables } = ctx;
  const n = batch.n;
  const dropouts = seededDropouts(model);
  const dropoutSteps = dropouts.map((d) => d.step);
  const bn = trainingBatchNorms(model);
  const combiner = bn.length ? new MovingStatsCombiner(bn) : null;
  // Summed gradients by the variable's position (a variable the loss does not reach has none,
  // and is left out of the update as minimize leaves it out).
  const sum = new Map<number, tf.Tensor>();
  let loss = 0;
  let correct = 0;
  try {
    for (let start = 0; start < n; start += microBatch) {
      const m = Math.min(microBatch, n - start);
      dropouts.forEach((d, i) => {
        d.step = dropoutSteps[i]!;
        d.batchSlice = { start, total: n };
      });
      combiner?.reset();
      const first = start === 0;
      const out = microBatchGradients(batch, ctx, start, m, first);
      variables.forEach((v, i) => {
        const g = out.grads[v.name];
        if (!g) return;
        const previous = sum.get(i);
        if (!previous) return void sum.set(i, g);
        sum.set(i, tf.add(previous, g));
        tf.dispose([previous, g]);
      });
      loss += (await out.value.data())[0]!;
      correct += (await out.hit.data())[0]!;
      tf.dispose([out.value, out.hit]);
      combiner?.record(m / n);
    }
    combiner?.commit();
    const grads: tf.NamedTensorMap = {};
    variables.forEach((v, i) => {
      const g = sum.get(i);
      if (g) grads[v.name] = g;
    });
    optimizer.applyGradients(grads);
    return { loss, correct };
  } catch (e) {
    combiner?.dispose();
    throw e;
  } finally {
    tf.dispose([...sum.values()]);
    dropouts.forEach((d, i) => {
      d.batchSlice = null;
      // One training call of the whole batch advances the step by one.
      d.step = dropoutSteps[i]! + 1;
    });
  }
}
