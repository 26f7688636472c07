import * as tf from '@tensorflow/tfjs';
import { argmaxRows, type Predictions } from '../eval/classification';
import { inferenceBatchSize } from '../models/memory';
import { ArtstyleError, check } from '../util/errors';
import { outOfMemoryError } from '../util/out-of-memory';
import { perSampleCrossEntropy, regularizationLoss } from './losses';
import type { Batch, BatchSource } from './types';

/**
 * The forward pass, written once: a batch of raw 0..255 NHWC pixels becomes a tensor, is
 * preprocessed (e.g. Xception's scaling to [-1, 1]) and goes through the model. The training step
 * (lib/train/step.ts), validation and inference (`predict`) all use it.
 */
export type Preprocess = (x: tf.Tensor4D) => tf.Tensor4D;

/** The model input of a batch: its pixels as a [n, h, w, 3] tensor, preprocessed. */
export function batchInput(batch: Batch, preprocess?: Preprocess): tf.Tensor4D {
  const x = tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, 3]);
  return preprocess ? preprocess(x) : x;
}

/**
 * Class probabilities of a batch: `training` runs the model as a training step does (dropout on,
 * trainable batch norm on batch statistics); otherwise inference mode (`model.predict`).
 */
export function forwardBatch(
  model: tf.LayersModel,
  batch: Batch,
  options: { preprocess?: Preprocess | undefined; training?: boolean } = {},
): tf.Tensor2D {
  const x = batchInput(batch, options.preprocess);
  return (options.training ? model.apply(x, { training: true }) : model.predict(x)) as tf.Tensor2D;
}

export interface PredictOptions {
  batchSize?: number;
  /** Applied to each batch of raw 0..255 NHWC pixels before the model (e.g. Xception's scaling). */
  preprocess?: Preprocess | undefined;
}

function checkBatchFits(values: number, batch: Batch, k: number, offset: number, size: number) {
  if (values !== batch.n * k) {
    throw new ArtstyleError(
      'shape-mismatch',
      `model output has ${values / batch.n} values per image; the data set has ${k} classes`,
      'model',
    );
  }
  if (offset + batch.n > size) {
    throw new ArtstyleError(
      'size-mismatch',
      `the batch source yielded more than its declared size ${size} images`,
      'source',
    );
  }
}

/** Runs the model in inference mode over every batch of `source` (epoch 0: no augmentation). */
export async function predict(
  model: tf.LayersModel,
  source: BatchSource,
  options: PredictOptions = {},
): Promise<Predictions> {
  const requested = options.batchSize ?? 32;
  check(
    Number.isInteger(requested) && requested > 0,
    'batchSize',
    `expected a positive integer, got ${requested}`,
  );
  // In batches that fit (the wasm heap); the predictions do not depend on the batch.
  const batchSize = inferenceBatchSize(model, requested);
  const k = source.numClasses;
  const probs = new Float32Array(source.size * k);
  const labels = new Int32Array(source.size);
  const ids: string[] = [];
  let offset = 0;
  for await (const batch of source.batches(0, batchSize)) {
    let out: tf.Tensor;
    try {
      out = tf.tidy(() => forwardBatch(model, batch, { preprocess: options.preprocess }));
    } catch (e) {
      throw (
        outOfMemoryError(e, {
          label: model.name,
          activity: 'prediction',
          batchSize,
          imageSize: batch.height,
          backend: tf.getBackend(),
          smaller: 'a smaller evalBatchSize',
        }) ?? e
      );
    }
    const values = await out.data();
    out.dispose();
    checkBatchFits(values.length, batch, k, offset, source.size);
    probs.set(values as Float32Array, offset * k);
    labels.set(batch.labels, offset);
    ids.push(...batch.ids);
    offset += batch.n;
  }
  if (offset !== source.size) {
    throw new ArtstyleError(
      'size-mismatch',
      `the batch source yielded ${offset} images but declares size ${source.size}`,
      'source',
    );
  }
  return {
    probs,
    labels,
    predicted: argmaxRows(probs, k),
    ids,
    numClasses: k,
    classNames: source.classNames.slice(),
  };
}

export interface LossAccuracy {
  loss: number;
  accuracy: number;
}

/** Validation as Keras reports it: inference mode, unweighted cross-entropy + regularisation. */
export async function evaluateLossAccuracy(
  model: tf.LayersModel,
  source: BatchSource,
  batchSize: number,
  preprocess?: Preprocess,
): Promise<LossAccuracy> {
  const sums = new LossSums(source.numClasses);
  for await (const batch of source.batches(0, inferenceBatchSize(model, batchSize))) {
    await sums.add(() => forwardBatch(model, batch, { preprocess }), batch.labels);
    await new Promise((r) => setImmediate(r));
  }
  return sums.result(model);
}

/**
 * Validation's running sums: the unweighted cross-entropy and the right answers of each batch, then
 * their means plus the regularisation loss. Shared by evaluateLossAccuracy and the frozen-prefix
 * validation of lib/train/frozen-prefix.ts, so both compute the same numbers the same way.
 */
export class LossSums {
  private lossSum = 0;
  private correct = 0;
  private n = 0;

  constructor(private readonly numClasses: number) {}

  /** Adds a batch whose class probabilities `probs()` computes (inside a tidy). */
  async add(probs: () => tf.Tensor2D, batchLabels: Int32Array): Promise<void> {
    const [ceSum, right] = tf.tidy(() => {
      const p = probs();
      const labels = tf.tensor1d(batchLabels, 'int32');
      const ce = perSampleCrossEntropy(tf.oneHot(labels, this.numClasses) as tf.Tensor2D, p);
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), labels), 'int32'));
      return [tf.sum(ce), hit];
    });
    this.lossSum += (await ceSum.data())[0]!;
    this.correct += (await right.data())[0]!;
    this.n += batchLabels.length;
    tf.dispose([ceSum, right]);
  }

  async result(model: tf.LayersModel): Promise<LossAccuracy> {
    const reg = tf.tidy(() => regularizationLoss(model));
    const regValue = (await reg.data())[0]!;
    reg.dispose();
    return { loss: this.lossSum / this.n + regValue, accuracy: this.correct / this.n };
  }
}
