/**
 * Feature extraction as in the seed: each image is loaded and resized to 224 x 224 RGB (Keras
 * `load_img(path, target_size=(224, 224))` semantics: EXIF orientation applied, the whole image
 * stretched to the square; the resampling kernel is the data-preparation policy's, see
 * lib/data/resizePolicy.ts), kept as 0..255 floats (`img_to_array`), passed through the model's
 * `preprocess` (for ResNet50, `preprocessInput('resnet50', x)`), then through the convolutional
 * base; the output map (7 x 7 x 2048 for ResNet50 at 224) is flattened, as the seed does, or
 * averaged over its positions (`pooling: 'avg'`, 2048 values, what Keras's `pooling='avg'`
 * gives). Rows are appended to a feature store a chunk at a time, so a run that stops can be
 * started again: ids already in the store are skipped, and at most one chunk of work is redone.
 *
 * On the wasm backend (one core per thread) the batches are dealt in turn to the main thread and
 * worker threads, each with its own backend and a copy of the model (`threads`: default one per
 * core, or ARTSTYLE_THREADS); the images are decoded and preprocessed on the main thread and the
 * rows stored in the items' order. An image's features do not depend on the thread or on the
 * other images of its batch, so the store is the same bit for bit on any number of threads.
 * Only one round of batches (one per thread) is ever in memory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { copyValues, readInto } from '../backend/tensor-io';
import { decodeAndResize, ResizeKernel } from '../data/resizePolicy';
import { inferenceBatchSize } from '../models/memory';
import { ArtstyleError, check, errorMessage } from '../util/errors';
import { outOfMemoryError } from '../util/out-of-memory';
import { createProgress } from '../util/progress';
import { parseThreads } from '../util/threads';
import { WorkerClient } from '../util/worker-client';
import { FeatureStore } from './store';

export interface FeatureItem {
  /** Row id in the store (for example the image file name). */
  id: string;
  path: string;
}

export interface ExtractOptions {
  model: tf.LayersModel;
  /** Applied to the batch of 0..255 RGB images (NHWC) before the model. */
  preprocess: (x: tf.Tensor4D) => tf.Tensor;
  items: FeatureItem[];
  /** A FeatureStore, or a folder for one (created, or opened to resume). */
  store: FeatureStore | string;
  /** The seed's 224. */
  imageSize?: number;
  /** 'flatten' (the seed) or 'avg' (global average pooling). */
  pooling?: 'flatten' | 'avg';
  batchSize?: number;
  /** Rows per chunk file: the most work a crash can lose. */
  rowsPerChunk?: number;
  resizeKernel?: ResizeKernel;
  /** Show a progress bar (default true). */
  progress?: boolean;
  /**
   * Threads that run the model: the main thread and threads - 1 workers. Default: on the wasm
   * backend one per core (ARTSTYLE_THREADS overrides), elsewhere 1 (native and GPU backends use
   * every core by themselves). Never changes a result.
   */
  threads?: number;
}

/** Messages to an extraction worker (extract-worker.ts) and its replies. */
export type ExtractWorkerMessage =
  | {
      kind: 'init';
      backend: string;
      topology: string;
      /** The model's weights, in `model.weights` order, at `layout`'s [offset, size]. */
      weights: SharedArrayBuffer;
      layout: Array<[number, number]>;
    }
  | {
      kind: 'batch';
      /** n preprocessed images, size x size x 3 each. */
      x: Float32Array;
      n: number;
      size: number;
      pooling: 'flatten' | 'avg';
    };
export type ExtractWorkerReply = { kind: 'ready' } | { kind: 'features'; features: Float32Array };

/**
 * The features of a batch of n preprocessed images: the model's output map, flattened or averaged
 * over its positions. What every thread runs.
 */
export function batchFeatures(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  size: number,
  pooling: 'flatten' | 'avg',
): Float32Array {
  const out = tf.tidy(() => {
    const y = model.predict(tf.tensor4d(x, [n, size, size, 3])) as tf.Tensor;
    return pooling === 'avg' ? tf.mean(y, [1, 2]) : tf.reshape(y, [n, -1]);
  });
  const values = copyValues(out);
  out.dispose();
  return values;
}

/** The thread count of an extraction (see ExtractOptions.threads), at most one per batch. */
export function extractionThreads(requested: number | undefined, batches: number): number {
  if (requested !== undefined)
    check(
      Number.isInteger(requested) && requested >= 1,
      'threads',
      `expected an integer >= 1, got ${JSON.stringify(requested)}`,
    );
  const wanted =
    requested ??
    parseThreads(process.env['ARTSTYLE_THREADS']) ??
    (tf.getBackend() === 'wasm' ? os.availableParallelism() : 1);
  return Math.max(1, Math.min(wanted, batches));
}

const WORKER_SCRIPT = path.join(__dirname, 'extract-worker.js');

type ExtractWorker = WorkerClient<ExtractWorkerMessage, ExtractWorkerReply>;

/** Starts `count` workers holding copies of `model`. */
async function startWorkers(model: tf.LayersModel, count: number): Promise<ExtractWorker[]> {
  const weights = model.weights;
  const layout: Array<[number, number]> = [];
  let total = 0;
  for (const w of weights) {
    const size = w.read().size;
    layout.push([total, size]);
    total += size;
  }
  const shared = new SharedArrayBuffer(4 * total);
  const values = new Float32Array(shared);
  weights.forEach((w, i) => readInto(w.read(), values, layout[i]![0]));
  const init: ExtractWorkerMessage = {
    kind: 'init',
    backend: tf.getBackend(),
    topology: JSON.stringify(model.toJSON(null, false)),
    weights: shared,
    layout,
  };
  const workers: ExtractWorker[] = Array.from(
    { length: count },
    () => new WorkerClient(WORKER_SCRIPT, 'feature extraction worker'),
  );
  try {
    await Promise.all(workers.map((w) => w.ask(init)));
  } catch (e) {
    await Promise.all(workers.map((w) => w.close()));
    throw e;
  }
  return workers;
}

export interface ExtractResult {
  store: FeatureStore;
  /** Rows computed by this call. */
  added: number;
  /** Items skipped because their id was already stored. */
  alreadyStored: number;
}

/** The number of features one image gives for this model and pooling. */
export function featureDims(model: tf.LayersModel, pooling: 'flatten' | 'avg'): number {
  const shape = model.outputs[0]?.shape ?? [];
  const dims = shape.slice(1);
  check(
    dims.every((v) => typeof v === 'number' && v > 0),
    'model',
    `output shape ${JSON.stringify(shape)} must be fully known`,
  );
  if (pooling === 'avg') {
    check(
      dims.length === 3,
      'pooling',
      `'avg' needs a 4-D (N, H, W, C) output, got ${JSON.stringify(shape)}`,
    );
    return dims[2] as number;
  }
  return (dims as number[]).reduce((a, b) => a * b, 1);
}

async function loadImage(
  item: FeatureItem,
  size: number,
  kernel: ResizeKernel | undefined,
): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(item.path);
  } catch (e) {
    throw new ArtstyleError(
      'missing-file',
      `cannot read image ${item.path} (id ${item.id}): ${errorMessage(e)}`,
      item.path,
      { cause: e },
    );
  }
  try {
    return await decodeAndResize(bytes, { size, ...(kernel ? { kernel } : {}) });
  } catch (e) {
    throw new ArtstyleError(
      'bad-image',
      `${item.path} (id ${item.id}): ${errorMessage(e)}`,
      item.path,
      { cause: e },
    );
  }
}

/** A batch's images, decoded, resized and preprocessed on this thread, as model input values. */
async function loadBatch(
  batch: FeatureItem[],
  size: number,
  preprocess: ExtractOptions['preprocess'],
  kernel: ResizeKernel | undefined,
): Promise<Float32Array> {
  const pixels = await Promise.all(batch.map((it) => loadImage(it, size, kernel)));
  const input = new Float32Array(batch.length * size * size * 3);
  pixels.forEach((p, b) => {
    for (let i = 0; i < p.length; i++) input[b * p.length + i] = p[i] as number;
  });
  const x = tf.tidy(() => preprocess(tf.tensor4d(input, [batch.length, size, size, 3])));
  const values = copyValues(x);
  x.dispose();
  return values;
}

export async function extractFeatures(options: ExtractOptions): Promise<ExtractResult> {
  const { model, preprocess, items } = options;
  const size = options.imageSize ?? 224;
  const pooling = options.pooling ?? 'flatten';
  const requestedBatch = options.batchSize ?? 16;
  const rowsPerChunk = options.rowsPerChunk ?? 64;
  extractionThreads(options.threads, 1);
  check(
    pooling === 'flatten' || pooling === 'avg',
    'pooling',
    `expected 'flatten' or 'avg', got ${pooling}`,
  );
  check(
    Number.isInteger(requestedBatch) && requestedBatch > 0,
    'batchSize',
    `expected a positive integer, got ${requestedBatch}`,
  );
  // In batches that fit (the wasm heap); the features do not depend on the batch.
  const batchSize = inferenceBatchSize(model, requestedBatch);
  check(
    Number.isInteger(rowsPerChunk) && rowsPerChunk > 0,
    'rowsPerChunk',
    `expected a positive integer, got ${rowsPerChunk}`,
  );
  const ids = new Set<string>();
  for (const [i, it] of items.entries()) {
    check(
      typeof it.id === 'string' && it.id.length > 0,
      `items[${i}].id`,
      'expected a non-empty string',
    );
    check(!ids.has(it.id), `items[${i}].id`, `duplicate id ${JSON.stringify(it.id)}`);
    ids.add(it.id);
  }
  const dims = featureDims(model, pooling);
  let store: FeatureStore;
  if (typeof options.store === 'string') store = FeatureStore.openOrCreate(options.store, dims);
  else {
    store = options.store;
    check(
      store.dims === dims,
      'store',
      `has ${store.dims} columns but the model gives ${dims} features per image`,
    );
  }
  const todo = items.filter((it) => !store.has(it.id));
  const progress = options.progress === false ? null : createProgress('features', items.length);
  let done = items.length - todo.length;
  progress?.update(done, done > 0 ? `resuming: ${done} already stored` : undefined);

  let pendingIds: string[] = [];
  let pending: Float32Array[] = [];
  const flush = (): void => {
    if (pendingIds.length === 0) return;
    const data = new Float32Array(pendingIds.length * dims);
    let o = 0;
    for (const p of pending) {
      data.set(p, o);
      o += p.length;
    }
    store.append(pendingIds, data);
    pendingIds = [];
    pending = [];
  };
  const batches: FeatureItem[][] = [];
  for (let start = 0; start < todo.length; start += batchSize)
    batches.push(todo.slice(start, start + batchSize));
  const threads = extractionThreads(options.threads, batches.length);
  const workers = threads > 1 ? await startWorkers(model, threads - 1) : [];
  try {
    // A round: one batch per thread, the first on the main thread; rows stored in batch order.
    for (let first = 0; first < batches.length; first += threads) {
      const round = batches.slice(first, first + threads);
      const inputs = await Promise.all(
        round.map((batch) => loadBatch(batch, size, preprocess, options.resizeKernel)),
      );
      const context = (k: number) => ({
        label: `features (${model.name})`,
        activity: 'feature extraction',
        batch: first + k + 1,
        batchSize,
        imageSize: size,
        backend: tf.getBackend(),
        saved: `${done} images' features are stored in ${store.dir}; running again resumes after them`,
        smaller: 'a smaller batchSize',
      });
      const asked = round.map((batch, k) =>
        k === 0
          ? null
          : workers[k - 1]!.ask({ kind: 'batch', x: inputs[k]!, n: batch.length, size, pooling }, [
              inputs[k]!.buffer as ArrayBuffer,
            ]),
      );
      const results: Float32Array[] = [];
      for (let k = 0; k < round.length; k++) {
        try {
          results.push(
            k === 0
              ? batchFeatures(model, inputs[0]!, round[0]!.length, size, pooling)
              : ((await asked[k]!) as { features: Float32Array }).features,
          );
        } catch (e) {
          await Promise.allSettled(asked);
          throw outOfMemoryError(e, context(k)) ?? e;
        }
      }
      round.forEach((batch, k) => {
        const features = results[k]!;
        check(
          features.length === batch.length * dims,
          'model',
          `gave ${features.length / batch.length} features per image, expected ${dims}`,
        );
        pendingIds.push(...batch.map((it) => it.id));
        pending.push(features);
        if (pendingIds.length >= rowsPerChunk) flush();
        done += batch.length;
        progress?.update(done);
      });
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
  flush();
  progress?.end(`${todo.length} extracted, ${items.length - todo.length} already stored`);
  return { store, added: todo.length, alreadyStored: items.length - todo.length };
}
