import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { decodeAndResize } from '../../lib/data/resizePolicy';
import '@tensorflow/tfjs-backend-wasm';
import { extractFeatures, FeatureItem } from '../../lib/features/extract';
import { FeatureStore } from '../../lib/features/store';
import { Rng } from '../../lib/util/rng';

before(async () => {
  await tf.setBackend('cpu');
});

const SIZE = 16;

function tinyBase(): tf.LayersModel {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [SIZE, SIZE, 3],
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      biasInitializer: tf.initializers.constant({ value: 0.1 }),
    }),
  );
  return m;
}

const preprocess = (x: tf.Tensor4D): tf.Tensor => x.div(127.5).sub(1);

async function makeImages(dir: string, n: number): Promise<FeatureItem[]> {
  const rng = new Rng(3);
  const items: FeatureItem[] = [];
  for (let i = 0; i < n; i++) {
    const w = 20 + i * 3;
    const h = 12 + i;
    const px = Buffer.alloc(w * h * 3);
    for (let j = 0; j < px.length; j++) px[j] = rng.int(256);
    const file = path.join(dir, `img${i}.png`);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(file);
    items.push({ id: `img${i}`, path: file });
  }
  return items;
}

async function expectedRow(
  model: tf.LayersModel,
  file: string,
  pooling: 'flatten' | 'avg',
): Promise<Float32Array> {
  const rgb = await decodeAndResize(fs.readFileSync(file), { size: SIZE });
  return tf.tidy(() => {
    const y = model.predict(
      preprocess(tf.tensor4d(Float32Array.from(rgb), [1, SIZE, SIZE, 3])),
    ) as tf.Tensor;
    return (pooling === 'avg' ? y.mean([1, 2]) : y.reshape([1, -1])).dataSync() as Float32Array;
  });
}

test('extracts flattened maps in batches into the store, one row per image, in order', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
  try {
    const items = await makeImages(dir, 5);
    const model = tinyBase();
    const res = await extractFeatures({
      model,
      preprocess,
      items,
      store: path.join(dir, 'store'),
      imageSize: SIZE,
      batchSize: 2,
      rowsPerChunk: 3,
      progress: false,
    });
    assert.equal(res.added, 5);
    assert.equal(res.store.dims, 8 * 8 * 4);
    assert.deepEqual(
      res.store.ids,
      items.map((i) => i.id),
    );
    assert.equal(res.store.chunkCount, 2); // 4 rows (two batches) then 1
    const all = res.store.readAll().data;
    for (const [r, it] of items.entries()) {
      const want = await expectedRow(model, it.path, 'flatten');
      for (let j = 0; j < want.length; j++)
        assert.ok(Math.abs((all[r * 256 + j] as number) - (want[j] as number)) < 1e-5);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('resumes: a second run only computes the missing rows and ends with the same matrix', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
  try {
    const items = await makeImages(dir, 5);
    const model = tinyBase();
    const opts = {
      model,
      preprocess,
      imageSize: SIZE,
      batchSize: 2,
      rowsPerChunk: 2,
      progress: false,
    };
    await extractFeatures({ ...opts, items: items.slice(0, 3), store: path.join(dir, 'a') });
    const second = await extractFeatures({ ...opts, items, store: path.join(dir, 'a') });
    assert.equal(second.added, 2);
    assert.equal(second.alreadyStored, 3);
    const once = await extractFeatures({ ...opts, items, store: path.join(dir, 'b') });
    assert.deepEqual(FeatureStore.open(path.join(dir, 'a')).readAll(), once.store.readAll());
    const third = await extractFeatures({ ...opts, items, store: path.join(dir, 'a') });
    assert.equal(third.added, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("pooling 'avg' stores one mean per channel", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
  try {
    const items = await makeImages(dir, 2);
    const model = tinyBase();
    const res = await extractFeatures({
      model,
      preprocess,
      items,
      store: path.join(dir, 's'),
      imageSize: SIZE,
      pooling: 'avg',
      progress: false,
    });
    assert.equal(res.store.dims, 4);
    const want = await expectedRow(model, items[1]!.path, 'avg');
    const got = res.store.readAll().data.subarray(4, 8);
    for (let j = 0; j < 4; j++)
      assert.ok(Math.abs((got[j] as number) - (want[j] as number)) < 1e-5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad image, a missing file, duplicate ids and a store of another width are named', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
  try {
    const items = await makeImages(dir, 1);
    const bad = path.join(dir, 'bad.jpg');
    fs.writeFileSync(bad, 'not an image');
    const model = tinyBase();
    const base = { model, preprocess, imageSize: SIZE, progress: false };
    await assert.rejects(
      extractFeatures({ ...base, items: [{ id: 'b', path: bad }], store: path.join(dir, 's1') }),
      (e: Error) => e.message.includes(bad),
    );
    const missing = path.join(dir, 'nope.png');
    await assert.rejects(
      extractFeatures({
        ...base,
        items: [{ id: 'm', path: missing }],
        store: path.join(dir, 's2'),
      }),
      /cannot read image .*nope\.png/,
    );
    await assert.rejects(
      extractFeatures({ ...base, items: [items[0]!, items[0]!], store: path.join(dir, 's3') }),
      /duplicate id "img0"/,
    );
    FeatureStore.create(path.join(dir, 's4'), 10);
    await assert.rejects(
      extractFeatures({ ...base, items, store: path.join(dir, 's4') }),
      /has 10 columns, not 256/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('on worker threads (wasm): the same store bit for bit as on one thread, rows in order', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
  await tf.setBackend('wasm');
  try {
    const items = await makeImages(dir, 7);
    const model = tinyBase();
    const run = (threads: number, pooling: 'flatten' | 'avg') =>
      extractFeatures({
        model,
        preprocess,
        items,
        store: path.join(dir, `t${threads}-${pooling}`),
        imageSize: SIZE,
        batchSize: 2,
        rowsPerChunk: 3,
        progress: false,
        threads,
        pooling,
      });
    for (const pooling of ['flatten', 'avg'] as const) {
      const one = (await run(1, pooling)).store.readAll();
      for (const threads of [2, 3]) {
        const many = (await run(threads, pooling)).store.readAll();
        assert.deepEqual(many, one, `${threads} threads, ${pooling}`);
      }
      assert.deepEqual(
        one.ids,
        items.map((i) => i.id),
      );
    }
    await assert.rejects(
      extractFeatures({ model, preprocess, items, store: path.join(dir, 'bad'), threads: 0 }),
      /threads: expected an integer >= 1, got 0/,
    );
    assert.equal(fs.existsSync(path.join(dir, 'bad')), false, 'nothing written');
  } finally {
    await tf.setBackend('cpu');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
