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
 * Only one batch of images is ever in memory.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { decodeAndResize, ResizeKernel } from '../data/resizePolicy';
import { inferenceBatchSize } from '../models/memory';
import { ArtstyleError, check, errorMessage } from '../util/errors';
import { outOfMemoryError } from '../util/out-of-memory';
import { createProgress } from '../util/progress';
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

export async function extractFeatures(options: ExtractOptions): Promise<ExtractResult> {
  const { model, preprocess, items } = options;
  const size = options.imageSize ?? 224;
  const pooling = options.pooling ?? 'flatten';
  const requestedBatch = options.batchSize ?? 16;
  const rowsPerChunk = options.rowsPerChunk ?? 64;
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
  for (let start = 0; start < todo.length; start += batchSize) {
    const batch = todo.slice(start, start + batchSize);
    const pixels = await Promise.all(batch.map((it) => loadImage(it, size, options.resizeKernel)));
    const input = new Float32Array(batch.length * size * size * 3);
    pixels.forEach((p, b) => {
      for (let i = 0; i < p.length; i++) input[b * p.length + i] = p[i] as number;
    });
    let out: tf.Tensor;
    try {
      out = tf.tidy(() => {
        const x = tf.tensor4d(input, [batch.length, size, size, 3]);
        const y = model.predict(preprocess(x)) as tf.Tensor;
        return pooling === 'avg' ? tf.mean(y, [1, 2]) : tf.reshape(y, [batch.length, -1]);
      });
    } catch (e) {
      throw (
        outOfMemoryError(e, {
          label: `features (${model.name})`,
          activity: 'feature extraction',
          batch: start / batchSize + 1,
          batchSize,
          imageSize: size,
          backend: tf.getBackend(),
          saved: `${done} images' features are stored in ${store.dir}; running again resumes after them`,
          smaller: 'a smaller batchSize',
        }) ?? e
      );
    }
    const features = (await out.data()) as Float32Array;
    out.dispose();
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
  }
  flush();
  progress?.end(`${todo.length} extracted, ${items.length - todo.length} already stored`);
  return { store, added: todo.length, alreadyStored: items.length - todo.length };
}
