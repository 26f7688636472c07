import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readInto, tensorFromView } from '../backend/tensor-io';
import { check } from '../util/errors';
import { WorkerClient } from '../util/worker-client';
import type { SeededDropout } from '../models/seeded-dropout';
import {
  microBatchGradients,
  MovingStatsCombiner,
  seededDropouts,
  trainingBatchNorms,
} from './microbatch';
import { wholeBatchStep, type StepContext, type StepResult, type TrainStep } from './step';
import type { Batch } from './types';
import { orderedWeights } from './weights';

/**
 * A data-parallel training step on worker threads: the batch is cut into micro-batches
 * (`microBatch` images each, or one per thread: ceil(n / workers)), dealt to the threads in turn;
 * every worker thread holds a replica of the model on its own tfjs backend (its own wasm heap) and
 * computes its micro-batches' gradients (lib/train/microbatch microBatchGradients), and the main
 * thread sums them in micro-batch order and applies ONE optimizer update to the real model. So the
 * update is bit for bit the one `microBatchStep(m)` makes in one thread, whatever the number of
 * threads: same losses, same dropout masks (each micro-batch takes its rows of the whole batch's
 * mask), same order of the gradient sum, same combination of the batch-norm moving statistics;
 * results stay seeded, and a resumed run (the loop's checkpoints hold only the main model and
 * optimizer) is bit-identical, on any thread count. lib/train/fit.ts uses it for a run whose
 * batches are split, on chooseThreads' count.
 *
 * Batch norm in training mode therefore has micro-batch.ts's approximation ("ghost" batch norm:
 * each shard normalises with its own statistics); frozen batch norm is exact. Why threads and
 * not wasm's own threads: tfjs-backend-wasm's threaded build needs SharedArrayBuffer-backed
 * Emscripten pthreads, which its Node loader does not start; XNNPACK would then also only
 * parallelise inside each kernel, and most of a step's kernels are too small for that to pay.
 *
 * Weights, batch and gradients travel through SharedArrayBuffers, without copies per message. A
 * step sends each worker only the weights whose values changed since that worker last loaded them
 * (tfjs gives a variable a new data id whenever it is written: an update, a restored checkpoint,
 * new moving statistics), so nothing can go stale and frozen weights travel once; the moving
 * statistics of training-mode batch norms are reloaded before every shard, since a shard moves
 * them. The batch goes already preprocessed on the main thread: `preprocess` must act per pixel
 * (Xception's and ResNet50's scaling do), since a function cannot be sent to a thread. Each shard
 * writes its gradients and the moving statistics it left into a buffer of its own, which the main
 * thread sums in shard order as float32 (the rounding of tf.add, so the same bits). The workers
 * run the backend the main thread runs (`wasm` or `cpu`).
 */
export interface ParallelStepOptions {
  /** Worker threads, default: one per core (os.availableParallelism()). */
  workers?: number;
  /**
   * Images per shard. Given, the step is bit for bit `microBatchStep(microBatch)` whatever the
   * number of threads: the shards are its micro-batches, dealt to the threads in turn (shard k to
   * thread k mod workers), and a batch of at most `microBatch` images is trained whole on the
   * main thread, as microBatchStep does. So a run's results depend on its micro-batch, never on
   * the cores of the machine. Omitted: one shard per thread, ceil(n / workers) images each.
   */
  microBatch?: number;
  /**
   * The main thread trains micro-batches too, as one more lane beside the workers (micro-batch k
   * goes to lane k mod (workers + 1), lane 0 being the main thread), instead of waiting for them:
   * on n cores, n - 1 workers then keep every core busy, and the main thread's share needs no copy
   * of the weights. The update is the same bit for bit (same function, same backend).
   */
  mainThread?: boolean;
  /** The wasm kernel set of lib/backend/wasm-gradients for the workers (default: theirs). */
  kernels?: 'simd' | 'composed';
}

export interface ParallelStep {
  step: TrainStep;
  readonly workers: number;
  /** Ends the worker threads; the step cannot be used afterwards. */
  close(): Promise<void>;
}

/** Messages to a worker (see parallel-worker.ts). */
export interface WorkerInit {
  kind: 'init';
  backend: string;
  kernels?: 'simd' | 'composed';
}
export interface WorkerModel {
  kind: 'model';
  topology: string;
  weights: SharedArrayBuffer;
  /** Element offset and length of each ordered weight in `weights`. */
  layout: Array<[number, number]>;
}
export interface WorkerStep {
  kind: 'step';
  /** layer.trainable of every layer of the model, in model.layers order. */
  trainable: boolean[];
  /** Positions in orderedWeights of the variables to differentiate, in ctx.variables order. */
  variables: number[];
  /** Positions in orderedWeights to load from the model's shared weights before this shard. */
  load: number[];
  /** The preprocessed batch, n x height x width x 3 floats from the start. */
  x: SharedArrayBuffer;
  /** Where this shard writes its answer (see ShardLayout). */
  out: SharedArrayBuffer;
  layout: ShardLayout;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  start: number;
  m: number;
  numClasses: number;
  classWeights: Float32Array | null;
  dropoutSteps: number[];
}
export type WorkerMessage = WorkerInit | WorkerModel | WorkerStep | { kind: 'close' };

/**
 * Where a shard's answer goes in its float32 buffer: the gradient of each requested variable (in
 * ctx.variables order) at its offset, then the moving mean and variance of each training-mode
 * batch norm (trainingBatchNorms order) after the shard's update, at theirs.
 */
export interface ShardLayout {
  grads: Array<[number, number]>;
  stats: Array<[number, number]>;
  size: number;
}

/** A worker's answer to a step; the values are in the shard's buffer. */
export interface WorkerResult {
  kind: 'result';
  loss: number;
  correct: number;
  /** Per requested variable: false where the loss does not reach it (no gradient). */
  present: boolean[];
}
type WorkerReply = WorkerResult | { kind: 'ready' };

/** A worker thread with a replica of the model (parallel-worker.ts). */
class Replica extends WorkerClient<WorkerMessage, WorkerReply> {
  /** Per ordered weight, the data id whose values this worker's replica holds (null: none). */
  loaded: Array<object | null> = [];
}

/** The shards of a batch of n: [start, size], ceil(n / workers) images each, as micro-batches. */
export function shardsOf(n: number, workers: number): Array<[number, number]> {
  return shardsOfSize(n, Math.ceil(n / workers));
}

/** The micro-batches of a batch of n: [start, size], `size` images each, the last one shorter. */
export function shardsOfSize(n: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < n; start += size) out.push([start, Math.min(size, n - start)]);
  return out;
}

/**
 * A shard's answer from microBatchGradients' output: its gradients and the moving statistics it
 * left (trainingBatchNorms order) written into `out` at `layout`'s offsets; frees the output.
 * Shared by the main thread and the workers.
 */
export function writeShard(
  out: { value: tf.Scalar; hit: tf.Scalar; grads: tf.NamedTensorMap },
  variables: tf.Variable[],
  model: tf.LayersModel,
  layout: ShardLayout,
  buffer: Float32Array,
): WorkerResult {
  const present = variables.map((v, i) => {
    const g = out.grads[v.name];
    if (g) readInto(g, buffer, layout.grads[i]![0]);
    return g !== undefined;
  });
  trainingBatchNorms(model).forEach((b, j) => {
    readInto(b.mean.read(), buffer, layout.stats[2 * j]![0]);
    readInto(b.variance.read(), buffer, layout.stats[2 * j + 1]![0]);
  });
  const result: WorkerResult = {
    kind: 'result',
    loss: out.value.dataSync()[0]!,
    correct: out.hit.dataSync()[0]!,
    present,
  };
  tf.dispose([out.value, out.hit, ...Object.values(out.grads)]);
  return result;
}

/**
 * The gradients of the shards summed in shard order, per variable: the first shard's values that
 * reach it as they are, then float32 additions (JavaScript adds in double and the array rounds to
 * float32, which is float32 addition exactly). null where no shard reached the variable. When
 * every shard reached every variable (the usual case) the whole gradient block is summed at once.
 */
function sumShards(
  replies: WorkerResult[],
  buffers: Float32Array[],
  layout: ShardLayout,
  flat: Float32Array,
): Array<Float32Array | null> {
  const count = layout.grads.length;
  const end = count ? layout.grads[count - 1]![0] + layout.grads[count - 1]![1] : 0;
  if (replies.every((r) => r.present.every(Boolean))) {
    flat.set(buffers[0]!.subarray(0, end));
    for (let k = 1; k < replies.length; k++) addInto(flat, buffers[k]!, end);
    return layout.grads.map(([offset, size]) => flat.subarray(offset, offset + size));
  }
  const sums = layout.grads.map((): Float32Array | null => null);
  replies.forEach((r, k) => {
    layout.grads.forEach(([offset, size], i) => {
      if (!r.present[i]) return;
      const g = buffers[k]!.subarray(offset, offset + size);
      const sum = sums[i];
      if (!sum) return void (sums[i] = new Float32Array(g));
      for (let j = 0; j < size; j++) sum[j] = sum[j]! + g[j]!;
    });
  });
  return sums;
}

/** flat[j] += g[j] for j < end, in float32. */
function addInto(flat: Float32Array, g: Float32Array, end: number): void {
  for (let j = 0; j < end; j++) flat[j] = flat[j]! + g[j]!;
}

/** The layout of a shard's answer for these variables and training-mode batch norms. */
function shardLayout(variables: tf.Variable[], bn: ReturnType<typeof trainingBatchNorms>) {
  let size = 0;
  const at = (n: number): [number, number] => {
    size += n;
    return [size - n, n];
  };
  const grads = variables.map((v) => at(v.size));
  const stats = bn.flatMap((b) => [at(b.mean.read().size), at(b.variance.read().size)]);
  return { grads, stats, size };
}

/**
 * One shard trained on the main thread, answered as a worker would answer it, from the same
 * preprocessed pixels the workers get; the statistics are put back to the batch's starting values
 * first, and the dropout layers to the batch's step and this shard's rows.
 */
function mainShard(
  batch: Batch,
  x: Float32Array,
  ctx: StepContext,
  [start, m]: [number, number],
  dropouts: SeededDropout[],
  combiner: MovingStatsCombiner | null,
  layout: ShardLayout,
  buffer: Float32Array,
): WorkerResult {
  const steps = dropouts.map((d) => d.step);
  combiner?.reset();
  dropouts.forEach((d) => (d.batchSlice = { start, total: batch.n }));
  try {
    const { preprocess: _p, ...rest } = ctx;
    const out = microBatchGradients({ ...batch, x }, rest, start, m, start === 0);
    return writeShard(out, ctx.variables, ctx.model, layout, buffer);
  } finally {
    dropouts.forEach((d, i) => {
      d.batchSlice = null;
      d.step = steps[i]!;
    });
  }
}

export async function parallelStep(options: ParallelStepOptions = {}): Promise<ParallelStep> {
  const count = options.workers ?? os.availableParallelism();
  check(Number.isInteger(count) && count >= 1, 'workers', `expected an integer >= 1, got ${count}`);
  const microBatch = options.microBatch;
  const mainThread = options.mainThread ?? false;
  check(
    microBatch === undefined || (Number.isInteger(microBatch) && microBatch >= 1),
    'microBatch',
    `expected an integer >= 1, got ${microBatch}`,
  );
  const backend = tf.getBackend();
  check(
    backend === 'wasm' || backend === 'cpu',
    'backend',
    `parallel training runs on the wasm or cpu backend, not '${backend}'`,
  );
  const file = path.join(__dirname, 'parallel-worker.js');
  const replicas = Array.from(
    { length: count },
    () => new Replica(file, 'parallel training worker'),
  );
  const init: WorkerInit = {
    kind: 'init',
    backend,
    ...(options.kernels ? { kernels: options.kernels } : {}),
  };
  await Promise.all(replicas.map((r) => r.ask(init)));

  let current: {
    model: tf.LayersModel;
    weights: Float32Array;
    layout: Array<[number, number]>;
    /** Per ordered weight, the data id whose values `weights` holds. */
    copied: Array<object | null>;
  } | null = null;
  let xShared = new SharedArrayBuffer(0);
  const outs: SharedArrayBuffer[] = [];
  // Reused from step to step: fresh multi-megabyte arrays every step cost more than the sum
  // itself (the pages are new each time; measured 20 ms against 2 ms for 1.4M floats).
  let flat = new Float32Array(0);

  /** Sends the model's topology to every worker when the model is not the one they hold. */
  async function ensureModel(model: tf.LayersModel): Promise<NonNullable<typeof current>> {
    if (current?.model === model) return current;
    const weights = orderedWeights(model);
    const layout: Array<[number, number]> = [];
    let size = 0;
    for (const w of weights) {
      layout.push([size, w.variable.read().size]);
      size += w.variable.read().size;
    }
    const shared = new SharedArrayBuffer(4 * size);
    const topology = JSON.stringify(model.toJSON(null, false));
    const message: WorkerModel = { kind: 'model', topology, weights: shared, layout };
    await Promise.all(replicas.map((r) => r.ask(message)));
    for (const r of replicas) r.loaded = weights.map(() => null);
    const copied = weights.map(() => null);
    current = { model, weights: new Float32Array(shared), layout, copied };
    return current;
  }

  /** A shared buffer of at least `floats` float32 values, reused from step to step. */
  function outBuffer(k: number, floats: number): SharedArrayBuffer {
    if ((outs[k]?.byteLength ?? -1) < 4 * floats) outs[k] = new SharedArrayBuffer(4 * floats);
    return outs[k]!;
  }

  const step: TrainStep = async (batch: Batch, ctx: StepContext): Promise<StepResult> => {
    if (microBatch !== undefined && batch.n <= microBatch) return wholeBatchStep(batch, ctx);
    const { model, optimizer, variables } = ctx;
    const held = await ensureModel(model);
    const ordered = orderedWeights(model);
    // The shared weights follow the model: only values written since the last copy are copied.
    const ids = ordered.map((w) => w.variable.read().dataId);
    ordered.forEach((w, i) => {
      if (held.copied[i] === ids[i]) return;
      readInto(w.variable.read(), held.weights, held.layout[i]![0]);
      held.copied[i] = ids[i]!;
    });
    const position = new Map(ordered.map((w, i) => [w.variable.read(), i]));
    const wanted = variables.map((v) => {
      const i = position.get(v);
      check(i !== undefined, 'variables', `${v.name} is not a weight of the model`);
      return i;
    });
    const pixels = batch.n * batch.height * batch.width * 3;
    if (xShared.byteLength < 4 * pixels) xShared = new SharedArrayBuffer(4 * pixels);
    const x = new Float32Array(xShared, 0, pixels);
    tf.tidy(() => {
      const t: tf.Tensor4D = tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, 3]);
      readInto(ctx.preprocess ? ctx.preprocess(t) : t, x);
    });
    const dropouts = seededDropouts(model);
    // The moving statistics before the batch, taken before the main thread's shards change them;
    // a worker reloads them before every shard.
    const bn = trainingBatchNorms(model);
    const statsAt = new Set(bn.flatMap((b) => [b.mean, b.variance]));
    const reloaded = ordered.flatMap((w, i) => (statsAt.has(w.variable) ? [i] : []));
    const layout = shardLayout(variables, bn);
    const base: Omit<WorkerStep, 'start' | 'm' | 'load' | 'out'> = {
      kind: 'step',
      trainable: model.layers.map((l) => l.trainable),
      variables: wanted,
      x: xShared,
      layout,
      labels: batch.labels,
      n: batch.n,
      height: batch.height,
      width: batch.width,
      numClasses: ctx.numClasses,
      classWeights: ctx.classWeights ? (ctx.classWeights.dataSync() as Float32Array) : null,
      dropoutSteps: dropouts.map((d) => d.step),
    };
    /** What `replica` must load before a shard: what changed since it last loaded, and the
     * training-mode batch norms' moving statistics. */
    const toLoad = (replica: Replica): number[] => {
      const load = new Set(reloaded);
      ids.forEach((id, i) => {
        if (replica.loaded[i] !== id) load.add(i);
        replica.loaded[i] = id;
      });
      return [...load].sort((a, b) => a - b);
    };
    const shards =
      microBatch === undefined ? shardsOf(batch.n, count) : shardsOfSize(batch.n, microBatch);
    const lanes = count + (mainThread ? 1 : 0);
    const onMain = (k: number) => mainThread && k % lanes === 0;
    const combiner = bn.length ? new MovingStatsCombiner(bn) : null;
    // Every worker gets all of its shards at once (it answers them in order), then the main
    // thread trains its own while the workers train theirs.
    const buffers = shards.map(
      (_, k) => new Float32Array(outBuffer(k, layout.size), 0, layout.size),
    );
    const asked = shards.map(([start, m], k) => {
      if (onMain(k)) return null;
      const replica = replicas[(k % lanes) - (mainThread ? 1 : 0)]!;
      const load = toLoad(replica);
      return replica.ask({ ...base, load, out: outs[k]!, start, m });
    });
    const replies: WorkerResult[] = [];
    for (let k = 0; k < shards.length; k++)
      if (onMain(k))
        replies[k] = mainShard(batch, x, ctx, shards[k]!, dropouts, combiner, layout, buffers[k]!);
    for (let k = 0; k < shards.length; k++)
      if (!onMain(k)) replies[k] = (await asked[k]) as WorkerResult;

    // Gradients summed in shard order, as microBatchStep sums its micro-batches: the first
    // shard's values as they are, then float32 additions (tf.add's rounding).
    if (flat.length < layout.size) flat = new Float32Array(layout.size);
    const sums = sumShards(replies, buffers, layout, flat);
    let loss = 0;
    let correct = 0;
    replies.forEach((r, k) => {
      loss += r.loss;
      correct += r.correct;
      const values = buffers[k]!;
      combiner?.recordValues(
        shards[k]![1] / batch.n,
        layout.stats.map(([offset, size]) => values.subarray(offset, offset + size)),
      );
    });
    combiner?.commit();
    const grads: tf.NamedTensorMap = {};
    variables.forEach((v, i) => {
      const sum = sums[i];
      if (sum) grads[v.name] = tensorFromView(sum, v.shape);
    });
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    // One training call of the whole batch advances each dropout layer's step by one.
    dropouts.forEach((d) => (d.step += 1));
    return { loss, correct };
  };

  return {
    step,
    workers: count,
    async close() {
      await Promise.all(replicas.map((r) => r.close()));
    },
  };
}
