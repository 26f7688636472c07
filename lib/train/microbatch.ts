import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { copyValues } from '../backend/tensor-io';
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
 * gamma or beta (a fully frozen one runs in inference mode, see
 * lib/models KerasBatchNormalization).
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
 *
 * The sums are kept in plain float32 arrays, every operation rounded to float32 in the order of
 * the tensor expressions in the comments (so the result is the same on every backend, bit for
 * bit), which spares a few hundred tiny kernel calls per batch. The micro-batches' statistics come
 * from the layers (`record`, after a micro-batch ran here) or as arrays (`recordValues`, the
 * answer of a worker thread).
 */
export class MovingStatsCombiner {
  private readonly before: Float32Array[];
  private readonly sums: { mean: Float32Array; variance: Float32Array; meanSq: Float32Array }[];

  constructor(private readonly stats: MovingStats[]) {
    this.before = stats.flatMap((s) => [readValues(s.mean), readValues(s.variance)]);
    this.sums = stats.map((s) => {
      const n = s.mean.read().size;
      return {
        mean: new Float32Array(n),
        variance: new Float32Array(n),
        meanSq: new Float32Array(n),
      };
    });
  }

  /** Puts the statistics back to their values before the batch (before each micro-batch). */
  reset(): void {
    this.stats.forEach((s, i) => {
      writeValues(s.mean, this.before[2 * i]!);
      writeValues(s.variance, this.before[2 * i + 1]!);
    });
  }

  /** Records the statistics a micro-batch left in the layers, weighted by its share. */
  record(share: number): void {
    this.recordValues(
      share,
      this.stats.flatMap((s) => [readValues(s.mean), readValues(s.variance)]),
    );
  }

  /** Records a micro-batch's statistics given as [mean, variance] per layer, in stats order. */
  recordValues(share: number, values: Float32Array[]): void {
    const w = f32(share);
    this.stats.forEach((_, i) => {
      const m = values[2 * i]!;
      const v = values[2 * i + 1]!;
      const b = this.before[2 * i]!;
      const { mean, variance, meanSq } = this.sums[i]!;
      for (let k = 0; k < m.length; k++) {
        // mean += m * share; variance += v * share; meanSq += (m - before)^2 * share
        mean[k] = mean[k]! + f32(m[k]! * w);
        variance[k] = variance[k]! + f32(v[k]! * w);
        const d = f32(m[k]! - b[k]!);
        meanSq[k] = meanSq[k]! + f32(f32(d * d) * w);
      }
    });
  }

  /** Writes the combined update. */
  commit(): void {
    this.stats.forEach((s, i) => {
      const { mean, variance, meanSq } = this.sums[i]!;
      const b = this.before[2 * i]!;
      const decay = f32(1 - s.momentum);
      const out = new Float32Array(variance.length);
      for (let k = 0; k < out.length; k++) {
        // Variance of the micro-batch means: E[d^2] - E[d]^2 of the mean updates, over (1-m)^2,
        // times (1-m) for its share in the moving variance's update:
        // variance + relu((meanSq - (mean - before)^2) / (1 - m)).
        const dMean = f32(mean[k]! - b[k]!);
        const between = f32(f32(meanSq[k]! - f32(dMean * dMean)) / decay);
        out[k] = variance[k]! + (between > 0 ? between : 0);
      }
      writeValues(s.mean, mean);
      writeValues(s.variance, out);
    });
  }
}

const f32 = Math.fround;

function readValues(v: tf.LayerVariable): Float32Array {
  return copyValues(v.read());
}

function writeValues(v: tf.LayerVariable, values: Float32Array): void {
  // A variable takes over the written tensor's data: the tidy frees the tensor itself.
  tf.tidy(() => {
    v.write(tf.tensor(values, v.read().shape, 'float32'));
  });
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
  } finally {
    tf.dispose([...sum.values()]);
    dropouts.forEach((d, i) => {
      d.batchSlice = null;
      // One training call of the whole batch advances the step by one.
      d.step = dropoutSteps[i]! + 1;
    });
  }
}

/**
 * The wasm backend's heap: tfjs-backend-wasm 4.22 is built with a 4 GiB maximum
 * (emscripten's getHeapMax() returns 4294901760), whatever the machine's memory.
 */
export const WASM_HEAP_MAX_BYTES = 4294901760;

/**
 * How many bytes of the wasm heap one image of a training step takes, per float of the layers'
 * outputs: the tape keeps each layer's inputs and intermediates. Measured with full Xception at
 * 299 px (62,978,819 output floats per image, `node dist/bench/wasm-heap.js trainable|frozen`) on
 * the default kernel set: every layer trainable, the heap grew by about 753 MiB per image (1,011 MiB
 * at 1 image, 1,808 at 2, 3,270 at 4, 8 aborted), i.e. 3.1 bytes per output byte; base frozen
 * (pretraining), about 314 MiB per image (618, 921, 1,624, 2,816 MiB at 1, 2, 4, 8; 16 aborted),
 * 1.3. (With the composed kernels, which copy every tensor kept for the gradient and compose batch
 * norm from many ops, it was 7.1 and 2.9.) The rates below round up. Layers before the first
 * trainable one are costed at the frozen rate, the others at the trainable one.
 */
export const HEAP_PER_OUTPUT_BYTE = { trainable: 3.3, frozen: 1.4 } as const;

/** Bytes of the step that do not grow with the batch: weights, gradients, optimizer slots. */
const FIXED_PER_WEIGHT_BYTE = 4;
/** Kept free of the estimate: the heap grows in steps of up to 96 MiB, and the estimate is one. */
const HEAP_SAFETY_BYTES = 128 * 2 ** 20;

function elements(shape: (number | null)[]): number {
  return shape.slice(1).reduce<number>((p, v) => p * (v ?? 1), 1);
}

function outputFloats(layer: tf.layers.Layer): number {
  const shape = layer.outputShape as (number | null)[] | (number | null)[][];
  const shapes = Array.isArray(shape[0])
    ? (shape as (number | null)[][])
    : [shape as (number | null)[]];
  return shapes.reduce((s, sh) => s + elements(sh), 0);
}

function leafLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const visit = (layer: tf.layers.Layer): void => {
    const nested = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(nested)) nested.forEach(visit);
    else out.push(layer);
  };
  model.layers.forEach(visit);
  return out;
}

export interface HeapEstimate {
  /** Bytes that do not depend on the batch. */
  fixed: number;
  /** Bytes per image of a micro-batch. */
  perImage: number;
}

/** The wasm heap a training step of `model` needs: fixed + perImage x images (see above). */
export function estimateStepHeap(model: tf.LayersModel): HeapEstimate {
  let trainableSeen = false;
  let perImage = 0;
  for (const layer of leafLayers(model)) {
    if (layer.trainableWeights.length > 0) trainableSeen = true;
    const rate = trainableSeen ? HEAP_PER_OUTPUT_BYTE.trainable : HEAP_PER_OUTPUT_BYTE.frozen;
    perImage += outputFloats(layer) * 4 * rate;
  }
  const weightBytes = orderedWeights(model).reduce((s, w) => s + w.variable.read().size * 4, 0);
  return { fixed: weightBytes * FIXED_PER_WEIGHT_BYTE, perImage };
}

export interface MicroBatchChoice {
  /** Images per micro-batch; equal to the batch size when the batch is trained whole. */
  microBatch: number;
  /** Why, in a few words, for the run's log. */
  reason: string;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * The micro-batch of a run. A number given by the user wins (capped at the batch); a run that
 * resumes takes the one recorded in its checkpoint; otherwise on the wasm backend the largest
 * that the estimate says fits the heap, evened out over the batch (16 with room for 5 -> 4 x 4);
 * on every other backend the whole batch (native and GPU backends are not limited by a 4 GiB
 * heap, and a batch that does not fit there stops with a named error instead).
 *
 * Why an estimate and not a trial step: a wasm step that runs out of heap aborts the module
 * (RuntimeError: Aborted(), then "memory access out of bounds" on every later op, measured), so
 * the backend cannot try a smaller size in the same process; a trial in a child process costs
 * minutes per size at 299 px. The estimate is checked by the first step: if it does not fit after
 * all, the run stops with an error that says to set a smaller micro-batch.
 */
export function chooseMicroBatch(o: {
  model: tf.LayersModel;
  batchSize: number;
  requested?: number | null;
  /** The run's identity as recorded in its checkpoint, when it resumes. */
  recorded?: Record<string, unknown> | null;
  backend?: string;
  heapBytes?: number;
}): MicroBatchChoice {
  const b = o.batchSize;
  if (o.requested !== undefined && o.requested !== null) {
    check(
      Number.isInteger(o.requested) && o.requested >= 1,
      'microBatch',
      `expected an integer >= 1 (or null for automatic), got ${o.requested}`,
    );
    return { microBatch: Math.min(o.requested, b), reason: 'set by microBatch' };
  }
  if (o.recorded) {
    const m = o.recorded['microBatch'];
    return typeof m === 'number'
      ? { microBatch: m, reason: 'as recorded in the checkpoint' }
      : { microBatch: b, reason: 'as recorded in the checkpoint' };
  }
  const backend = o.backend ?? tf.getBackend();
  if (backend !== 'wasm') return { microBatch: b, reason: `the ${backend} backend` };
  const heap = (o.heapBytes ?? WASM_HEAP_MAX_BYTES) - HEAP_SAFETY_BYTES;
  const e = estimateStepHeap(o.model);
  const fits = Math.max(1, Math.floor((heap - e.fixed) / e.perImage));
  if (fits >= b)
    return {
      microBatch: b,
      reason: `fits the wasm heap (${gib(e.fixed + b * e.perImage)} estimated)`,
    };
  const microBatch = Math.ceil(b / Math.ceil(b / fits));
  return {
    microBatch,
    reason: `automatic: ${b} images need about ${gib(e.fixed + b * e.perImage)} of the ${gib(heap + HEAP_SAFETY_BYTES)} wasm heap, ${microBatch} about ${gib(e.fixed + microBatch * e.perImage)}`,
  };
}

export interface ThreadChoice {
  /** Worker threads that train the micro-batches of a batch (1: the main thread alone). */
  threads: number;
  /** Why, in a few words, for the run's log. */
  reason: string;
}

export { parseThreads } from '../util/threads';

/**
 * How many worker threads train a run's micro-batches (lib/train/parallel.ts). A number asked for
 * wins (capped at the micro-batches of a batch; the wasm and cpu backends can run on worker
 * threads). Otherwise, on the wasm backend only (the studies' CPU backend; cpu is the slow
 * reference the tests use): one per core, at most one per micro-batch, and no more than the
 * machine's free memory holds: each thread keeps a replica of the model and a step's activations
 * on its own heap (estimateStepHeap), and 30% of the free memory is left to the main thread. A
 * batch trained whole has nothing to share out, and other backends parallelise by themselves.
 */
export function chooseThreads(o: {
  model: tf.LayersModel;
  batchSize: number;
  microBatch: number;
  requested?: number | null;
  backend?: string;
  cores?: number;
  freeBytes?: number;
}): ThreadChoice {
  const shards = Math.ceil(o.batchSize / o.microBatch);
  if (o.requested !== undefined && o.requested !== null) {
    check(
      Number.isInteger(o.requested) && o.requested >= 1,
      'threads',
      `expected an integer >= 1 (or null for automatic), got ${o.requested}`,
    );
    return { threads: Math.min(o.requested, shards), reason: 'set by threads' };
  }
  if (shards === 1) return { threads: 1, reason: 'the batch is trained whole' };
  const backend = o.backend ?? tf.getBackend();
  if (backend !== 'wasm') return { threads: 1, reason: `the ${backend} backend` };
  const cores = o.cores ?? os.availableParallelism();
  const e = estimateStepHeap(o.model);
  const perThread = e.fixed + o.microBatch * e.perImage;
  const byMemory = Math.floor((0.7 * (o.freeBytes ?? os.freemem())) / perThread);
  const threads = Math.max(1, Math.min(cores, shards, byMemory));
  const limit =
    threads === shards
      ? 'one per micro-batch'
      : threads === cores
        ? 'one per core'
        : `the free memory holds ${byMemory} (${gib(perThread)} each)`;
  return { threads, reason: `automatic: ${limit}` };
}
