import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheFile } from '../../lib/data/imageCache';
import { policyTag } from '../../lib/data/resizePolicy';
import { ArtstyleError } from '../../lib/util/errors';
import { after, before, describe, it } from 'node:test';
import { Batch, imageBatchSource } from '../../lib/data/batches';
import { DEFAULT_AUGMENT } from '../../lib/data/augment';
import { scanImageFolder } from '../../lib/data/imageFolder';
import { Manifest, buildManifest } from '../../lib/data/manifest';
import { sampleGrid } from '../../lib/data/sampleGrid';
import sharp from 'sharp';
import { tempDir, writeClass } from './fixtures';

const t = tempDir('batches');
after(t.cleanup);
const root = path.join(t.dir, 'data');
const cacheDir = path.join(t.dir, 'cache');
const size = 8;
let manifest: Manifest;

before(async () => {
  await writeClass(root, 'A', 10, 0);
  await writeClass(root, 'B', 5, 150);
  const folder = await scanImageFolder(root, {
    cache: { cacheDir, imageSize: size },
    progressLabel: null,
  });
  manifest = buildManifest(folder, 11);
});

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('imageBatchSource', () => {
  it('streams a split in manifest order with labels, in batches', async () => {
    const src = imageBatchSource({
      manifest,
      split: 'train',
      cacheDir,
      imageSize: size,
      shuffle: false,
      seed: 1,
    });
    assert.equal(src.size, 6 + 3);
    assert.deepEqual(src.classNames, ['A', 'B']);
    assert.equal(src.numClasses, 2);
    assert.deepEqual([...src.labels()], [0, 0, 0, 0, 0, 0, 1, 1, 1]);
    const batches = await collect(src.batches(0, 4));
    assert.deepEqual(
      batches.map((b) => b.n),
      [4, 4, 1],
    );
    const b0 = batches[0]!;
    assert.equal(b0.x.length, 4 * size * size * 3);
    assert.deepEqual([b0.height, b0.width], [size, size]);
    assert.deepEqual(
      batches.flatMap((b) => b.ids),
      manifest.items.filter((i) => i.split === 'train').map((i) => i.path),
    );
    assert.deepEqual(
      batches.flatMap((b) => [...b.labels]),
      [...src.labels()],
    );
    // Pixels are the cached bytes as float 0..255 (class A images are reddish-dark, B lighter).
    const max = b0.x.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(max <= 255 && Number.isInteger(b0.x[0]));
  });

  it('shuffles deterministically per (seed, epoch) and augments the same way each time', async () => {
    const make = (seed: number) =>
      imageBatchSource({
        manifest,
        split: 'train',
        cacheDir,
        imageSize: size,
        shuffle: true,
        augment: DEFAULT_AUGMENT,
        seed,
      });
    const e0 = await collect(make(5).batches(0, 3));
    const again = await collect(make(5).batches(0, 3));
    assert.deepEqual(again, e0);
    const e1 = await collect(make(5).batches(1, 3));
    assert.notDeepEqual(
      e1.flatMap((b) => b.ids),
      e0.flatMap((b) => b.ids),
    );
    assert.deepEqual(new Set(e1.flatMap((b) => b.ids)), new Set(e0.flatMap((b) => b.ids)));
    // Augmentation does not depend on the batch size.
    const one = await collect(make(5).batches(0, 100));
    assert.deepEqual(one[0]!.x, new Float32Array(e0.flatMap((b) => [...b.x])));
    // Augmented pixels differ from the plain ones.
    const plain = await collect(
      imageBatchSource({
        manifest,
        split: 'train',
        cacheDir,
        imageSize: size,
        shuffle: true,
        seed: 5,
      }).batches(0, 100),
    );
    assert.deepEqual(plain[0]!.ids, one[0]!.ids);
    assert.notDeepEqual(plain[0]!.x, one[0]!.x);
  });

  it('reads the next batch ahead while the consumer works', async () => {
    const src = imageBatchSource({
      manifest,
      split: 'train',
      cacheDir,
      imageSize: size,
      shuffle: false,
      seed: 1,
    });
    const it = src.batches(0, 2)[Symbol.asyncIterator]();
    await it.next();
    // While "training" on the first batch, the second one completes without being asked for.
    await new Promise((r) => setTimeout(r, 50));
    const t0 = process.hrtime.bigint();
    const second = await it.next();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(second.value.n, 2);
    assert.ok(ms < 5, `second batch took ${ms} ms after the wait`);
  });

  it('names missing cache entries and bad arguments', async () => {
    assert.throws(
      () =>
        imageBatchSource({
          manifest,
          split: 'val',
          cacheDir,
          imageSize: 16,
          shuffle: false,
          seed: 1,
        }),
      /no 16px cache entry for A\//,
    );
    const src = imageBatchSource({
      manifest,
      split: 'val',
      cacheDir,
      imageSize: size,
      shuffle: false,
      seed: 1,
    });
    assert.throws(() => src.batches(0, 0), /batchSize: expected an integer >= 1, got 0/);
    assert.throws(() => src.batches(-1, 2), /epoch/);
  });
});

describe('imageBatchSource on a damaged cache', () => {
  it('names the corrupt cache file instead of training on it', async () => {
    const item = manifest.items.find((i) => i.split === 'test')!;
    const file = cacheFile(cacheDir, item.hash, size, policyTag({ size }));
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, good.subarray(0, good.length - 1));
    try {
      const src = imageBatchSource({
        manifest,
        split: 'test',
        cacheDir,
        imageSize: size,
        shuffle: false,
        seed: 1,
      });
      await assert.rejects(
        collect(src.batches(0, 2)),
        (e: unknown) =>
          e instanceof ArtstyleError && e.code === 'corrupt-cache' && e.subject === file,
      );
    } finally {
      fs.writeFileSync(file, good);
    }
  });
});

describe('sampleGrid', () => {
  it('returns seeded PNG thumbnails per class from the cache', async () => {
    const g = await sampleGrid(manifest, cacheDir, 3, 2, { imageSize: size });
    assert.deepEqual(
      g.map((r) => r.class),
      ['A', 'B'],
    );
    assert.deepEqual(
      g.map((r) => r.samples.length),
      [3, 3],
    );
    const meta = await sharp(g[0]!.samples[0]!.png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', size, size]);
    assert.deepEqual(await sampleGrid(manifest, cacheDir, 3, 2, { imageSize: size }), g);
    const many = await sampleGrid(manifest, cacheDir, 50, 2, { imageSize: size });
    assert.deepEqual(
      many.map((r) => r.samples.length),
      [10, 5],
    );
  });
});
