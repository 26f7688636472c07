import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FeatureStore } from '../../lib/features/store';
import { ArtstyleError } from '../../lib/util/errors';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'feature-store-'));
}

test('rows appended in chunks read back chunk by chunk and whole, after reopening', () => {
  const dir = tmp();
  try {
    const s = FeatureStore.create(dir, 3);
    s.append(['a', 'b'], new Float32Array([1, 2, 3, 4, 5, 6]));
    s.append(['c'], new Float32Array([7, 8, 9.5]));
    const again = FeatureStore.open(dir);
    assert.equal(again.rows, 3);
    assert.equal(again.chunkCount, 2);
    assert.deepEqual(again.ids, ['a', 'b', 'c']);
    assert.ok(again.has('c') && !again.has('d'));
    const seen: Array<[number, number, string[]]> = [];
    again.forEachChunk((c) => seen.push([c.index, c.rowOffset, c.ids]));
    assert.deepEqual(seen, [
      [0, 0, ['a', 'b']],
      [1, 2, ['c']],
    ]);
    assert.deepEqual([...again.readAll().data], [1, 2, 3, 4, 5, 6, 7, 8, 9.5]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    assert.equal(index.format, 'artstyle-feature-store');
    assert.equal(index.version, 1);
    assert.equal(index.chunks[0].sha256.length, 64);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a chunk written but not indexed (crash) is not a row; the next append replaces it', () => {
  const dir = tmp();
  try {
    const s = FeatureStore.create(dir, 2);
    s.append(['a'], new Float32Array([1, 2]));
    fs.writeFileSync(path.join(dir, 'chunk-000001.f32'), Buffer.alloc(8 * 5));
    const resumed = FeatureStore.openOrCreate(dir, 2);
    assert.equal(resumed.rows, 1);
    resumed.append(['b'], new Float32Array([3, 4]));
    assert.deepEqual([...FeatureStore.open(dir).readAll().data], [1, 2, 3, 4]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt, truncated and foreign chunks are detected and named', () => {
  const dir = tmp();
  const other = tmp();
  try {
    const s = FeatureStore.create(dir, 2);
    s.append(['a'], new Float32Array([1, 2]));
    s.append(['b'], new Float32Array([3, 4]));
    const f0 = path.join(dir, 'chunk-000000.f32');
    const bytes = fs.readFileSync(f0);
    bytes[0] = (bytes[0] as number) ^ 1;
    fs.writeFileSync(f0, bytes);
    assert.throws(
      () => s.readChunk(0),
      (e: unknown) =>
        e instanceof ArtstyleError &&
        e.code === 'corrupt-file' &&
        e.subject === f0 &&
        /SHA-256/.test(e.message),
    );
    // Reading without verification still checks the size.
    fs.writeFileSync(f0, bytes.subarray(0, 4));
    assert.throws(() => s.readChunk(0, { verify: false }), /has 4 bytes; the index expects 8/);
    // A chunk of the same size from another store.
    const o = FeatureStore.create(other, 2);
    o.append(['z'], new Float32Array([9, 9]));
    fs.copyFileSync(path.join(other, 'chunk-000000.f32'), path.join(dir, 'chunk-000001.f32'));
    assert.throws(
      () => s.readChunk(1),
      /chunk-000001\.f32 does not match its SHA-256.*another store/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test('bad appends and foreign indexes are refused', () => {
  const dir = tmp();
  try {
    const s = FeatureStore.create(dir, 2);
    assert.throws(
      () => s.append(['a'], new Float32Array(3)),
      /data: expected 1 x 2 = 2 values, got 3/,
    );
    s.append(['a'], new Float32Array(2));
    assert.throws(() => s.append(['a'], new Float32Array(2)), /"a" is already in the store/);
    assert.throws(
      () => s.append(['x'], new Float32Array([1, NaN])),
      /non-finite value at row 0 \(id x\)/,
    );
    assert.throws(() => FeatureStore.create(dir, 2), /already exists/);
    assert.throws(() => FeatureStore.openOrCreate(dir, 5), /has 2 columns, not 5/);
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ format: 'other' }));
    assert.throws(() => FeatureStore.open(dir), /not a feature store index/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readChunkInto fills a caller buffer at a row offset and checks the chunk', () => {
  const dir = tmp();
  try {
    const s = FeatureStore.create(dir, 2);
    s.append(['a', 'b'], new Float32Array([1, 2, 3, 4]));
    s.append(['c'], new Float32Array([5, 6]));
    const buf = new Float32Array(8).fill(-1);
    assert.equal(s.readChunkInto(1, buf, 0), 1);
    assert.equal(s.readChunkInto(0, buf, 1), 2);
    assert.deepEqual([...buf], [5, 6, 1, 2, 3, 4, -1, -1]);
    assert.throws(() => s.readChunkInto(0, buf, 3), /target: too small for chunk 0 at row 3/);
    const f1 = path.join(dir, 'chunk-000001.f32');
    fs.writeFileSync(f1, Buffer.from(new Float32Array([5, 7]).buffer));
    assert.throws(() => s.readChunkInto(1, buf, 0), /chunk-000001\.f32 does not match its SHA-256/);
    fs.writeFileSync(f1, Buffer.alloc(4));
    assert.throws(() => s.readChunkInto(1, buf, 0, { verify: false }), /has 4 bytes/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
