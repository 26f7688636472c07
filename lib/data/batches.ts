import * as fs from 'node:fs';
import { ArtstyleError, check } from '../util/errors';
import { Rng } from '../util/rng';
import { AugmentOptions, augmentImage, validateAugmentOptions } from './augment';
import { cacheFile, readCachedImage } from './imageCache';
import type { Manifest, ManifestItem } from './manifest';
import { ResizeKernel, policyTag } from './resizePolicy';
import type { SplitName } from './split';

export type { AugmentOptions } from './augment';

export interface Batch {
  /** NHWC RGB values 0..255 as float32, already augmented when the source augments. */
  x: Float32Array;
  labels: Int32Array;
  ids: string[];
  n: number;
  height: number;
  width: number;
}

export interface BatchSource {
  readonly size: number;
  readonly numClasses: number;
  readonly classNames: string[];
  readonly imageSize: number;
  /** Deterministic for (seed, epoch): same order and same augmentation; shuffles only if created with shuffle. */
  batches(epoch: number, batchSize: number): AsyncIterable<Batch>;
  /** Every item's class index, in manifest order. */
  labels(): Int32Array;
}

export interface ImageBatchSourceOptions {
  manifest: Manifest;
  split: SplitName;
  cacheDir: string;
  imageSize: number;
  shuffle: boolean;
  augment?: AugmentOptions | null;
  seed: number;
  /** Must match the kernel the cache was built with (default lanczos3). */
  kernel?: ResizeKernel;
}

/**
 * Batches of one split read from the resized-image cache: only the batch being trained and the
 * one being read ahead are in memory, so the full study (3,989 images at 299x299, 1 GiB as
 * float32) never has to fit at once. While the consumer works on batch i, batch i+1 is already
 * being read and augmented.
 *
 * Order: manifest order, or a permutation drawn from (seed, epoch) when `shuffle`. Augmentation:
 * drawn from (seed, epoch, the item's position in the split's manifest order), so it does not
 * depend on the batch size or the visiting order, and a resumed epoch repeats exactly.
 */
export function imageBatchSource(opts: ImageBatchSourceOptions): BatchSource {
  const { manifest, split, cacheDir, imageSize, shuffle, seed } = opts;
  check(
    ['train', 'val', 'test'].includes(split),
    'split',
    `expected train, val or test, got ${split}`,
  );
  check(
    Number.isInteger(imageSize) && imageSize >= 1,
    'imageSize',
    `expected an integer >= 1, got ${imageSize}`,
  );
  check(Number.isInteger(seed), 'seed', `expected an integer, got ${seed}`);
  const augment = opts.augment ?? null;
  if (augment) validateAugmentOptions(augment);
  const items: ManifestItem[] = manifest.items.filter((it) => it.split === split);
  check(items.length > 0, 'split', `the manifest has no ${split} images`);
  const classIndex = new Map(manifest.classNames.map((c, i) => [c, i]));
  const labelsAll = Int32Array.from(items, (it) => {
    const k = classIndex.get(it.class);
    if (k === undefined)
      throw new ArtstyleError(
        'corrupt-manifest',
        `item ${it.path} has unknown class ${it.class}`,
        it.path,
      );
    return k;
  });
  const tag = policyTag({ size: imageSize, kernel: opts.kernel });
  const files = items.map((it) => cacheFile(cacheDir, it.hash, imageSize, tag));
  const missing = files.findIndex((f) => !fs.existsSync(f));
  if (missing >= 0)
    throw new ArtstyleError(
      'missing-cache',
      `no ${imageSize}px cache entry for ${items[missing]!.path} (${files[missing]}); build the cache with this size first`,
      files[missing],
    );
  const pixels = imageSize * imageSize * 3;

  const order = (epoch: number): number[] => {
    const idx = items.map((_, i) => i);
    return shuffle ? new Rng(seed).fork(`epoch:${epoch}`).shuffle(idx) : idx;
  };

  const load = async (epoch: number, indices: number[]): Promise<Batch> => {
    const n = indices.length;
    const x = new Float32Array(n * pixels);
    const labels = new Int32Array(n);
    const ids: string[] = [];
    await Promise.all(
      indices.map(async (i, j) => {
        const img = await readCachedImage(files[i]!, imageSize);
        const dst = x.subarray(j * pixels, (j + 1) * pixels);
        if (augment) augmentImage(img.data, imageSize, imageSize, augment, seed, epoch, i, dst);
        else dst.set(img.data);
      }),
    );
    for (let j = 0; j < n; j++) {
      labels[j] = labelsAll[indices[j]!]!;
      ids.push(items[indices[j]!]!.path);
    }
    return { x, labels, ids, n, height: imageSize, width: imageSize };
  };

  return {
    size: items.length,
    numClasses: manifest.classNames.length,
    classNames: [...manifest.classNames],
    imageSize,
    labels: () => labelsAll.slice(),
    batches(epoch: number, batchSize: number): AsyncIterable<Batch> {
      check(
        Number.isInteger(epoch) && epoch >= 0,
        'epoch',
        `expected an integer >= 0, got ${epoch}`,
      );
      check(
        Number.isInteger(batchSize) && batchSize >= 1,
        'batchSize',
        `expected an integer >= 1, got ${batchSize}`,
      );
      return {
        async *[Symbol.asyncIterator]() {
          const perm = order(epoch);
          const chunks: number[][] = [];
          for (let s = 0; s < perm.length; s += batchSize)
            chunks.push(perm.slice(s, s + batchSize));
          let pending: Promise<Batch> | null = chunks.length ? load(epoch, chunks[0]!) : null;
          for (let b = 0; b < chunks.length; b++) {
            const current = await pending!;
            // Read ahead: start the next batch before handing this one to the consumer.
            pending = b + 1 < chunks.length ? load(epoch, chunks[b + 1]!) : null;
            // An unawaited rejection would crash the process if the consumer stops early.
            pending?.catch(() => undefined);
            yield current;
          }
        },
      };
    },
  };
}
