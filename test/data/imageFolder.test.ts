import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { cacheFile } from '../../lib/data/imageCache';
import { buildImageCache, scanImageFolder } from '../../lib/data/imageFolder';
import { decodeCounter, policyTag } from '../../lib/data/resizePolicy';
import { ArtstyleError } from '../../lib/util/errors';
import { jpeg, png, tempDir, write, writeClass } from './fixtures';

const t = tempDir('folder');
after(t.cleanup);
const root = path.join(t.dir, 'data');
const isErr = (code: string, subject: string) => (e: unknown) =>
  e instanceof ArtstyleError &&
  e.code === code &&
  e.subject === subject &&
  e.message.includes(subject);

before(async () => {
  await writeClass(root, 'Baroque', 3, 10);
  await writeClass(root, 'Rococo', 2, 100);
  const good = await jpeg(200, 64, 64);
  write(path.join(root, 'Baroque', 'empty.jpg'), new Uint8Array(0));
  write(path.join(root, 'Baroque', 'notes.jpg'), 'this is text pretending to be a JPEG\n');
  write(path.join(root, 'Baroque', 'cut.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  write(path.join(root, 'Rococo', 'really-a-png.jpg'), await png(50));
  // The same bytes as Baroque/img000.jpg: an exact duplicate.
  fs.copyFileSync(path.join(root, 'Baroque', 'img000.jpg'), path.join(root, 'Rococo', 'copy.jpg'));
  write(path.join(root, 'Rococo', 'nested', 'img.jpg'), await jpeg(222));
  write(path.join(root, 'Rococo', '.DS_Store'), 'junk');
  write(path.join(root, 'README.txt'), 'loose file');
  const big = await sharp({
    create: { width: 1200, height: 1000, channels: 3, background: 'white' },
  })
    .png()
    .toBuffer();
  write(path.join(root, 'Rococo', 'huge.png'), big);
});

describe('scanImageFolder', () => {
  it('lists classes, images, skipped files with reasons, and duplicates', async () => {
    const f = await scanImageFolder(root, { limitInputPixels: 1_000_000, progressLabel: null });
    assert.equal(f.root, path.resolve(root));
    assert.deepEqual(f.classNames, ['Baroque', 'Rococo']);
    assert.deepEqual(
      f.images.map((i) => `${i.class}:${i.path}`),
      [
        'Baroque:Baroque/img000.jpg',
        'Baroque:Baroque/img001.jpg',
        'Baroque:Baroque/img002.jpg',
        'Rococo:Rococo/copy.jpg',
        'Rococo:Rococo/img000.jpg',
        'Rococo:Rococo/img001.jpg',
        'Rococo:Rococo/nested/img.jpg',
        'Rococo:Rococo/really-a-png.jpg',
      ],
    );
    assert.deepEqual(f.skipped.map((s) => `${s.path}:${s.reason}`).sort(), [
      'Baroque/cut.jpg:corrupt-or-truncated',
      'Baroque/empty.jpg:empty-file',
      'Baroque/notes.jpg:not-an-image',
      'README.txt:outside-class-folder',
      'Rococo/huge.png:too-large',
    ]);
    assert.match(f.skipped.find((s) => s.reason === 'too-large')!.message, /1000000 pixels/);
    assert.equal(f.duplicates.length, 1);
    assert.deepEqual(f.duplicates[0]!.paths, ['Baroque/img000.jpg', 'Rococo/copy.jpg']);
    assert.deepEqual(f.duplicates[0]!.classes, ['Baroque', 'Rococo']);
    assert.equal(f.images[0]!.hash, f.images[3]!.hash);
    assert.match(f.images[0]!.hash, /^[0-9a-f]{64}$/);
  });

  it('decodes each file once, writes the cache, and decodes nothing on a second run', async () => {
    const cacheDir = path.join(t.dir, 'cache');
    const cache = { cacheDir, imageSize: 12 };
    const opts = { cache, limitInputPixels: 1_000_000, progressLabel: null };
    const c0 = decodeCounter();
    const first = await scanImageFolder(root, opts);
    // 12 files in class folders: the empty one needs no decode and the two identical ones
    // are decoded once.
    assert.equal(first.stats.decoded, 10);
    assert.equal(decodeCounter() - c0, 10);
    for (const im of first.images)
      assert.ok(fs.existsSync(cacheFile(cacheDir, im.hash, 12, policyTag({ size: 12 }))));
    const c1 = decodeCounter();
    const second = await scanImageFolder(root, opts);
    assert.equal(decodeCounter() - c1, 0);
    assert.equal(second.stats.decoded, 0);
    // 7 distinct usable contents and 4 recorded verdicts (including the empty file).
    assert.equal(second.stats.fromCache, 11);
    assert.deepEqual(second.images, first.images);
    assert.deepEqual(second.skipped, first.skipped);
    // A run with a larger pixel limit must decide about the big image again.
    const third = await scanImageFolder(root, { ...opts, limitInputPixels: 2_000_000 });
    assert.equal(third.stats.decoded, 1);
    assert.ok(third.images.some((i) => i.path === 'Rococo/huge.png'));
  });

  it('detects a corrupt cache entry, names it and rebuilds it', async () => {
    const cacheDir = path.join(t.dir, 'cache2');
    const cache = { cacheDir, imageSize: 10 };
    const opts = { cache, limitInputPixels: 1_000_000, progressLabel: null };
    const first = await scanImageFolder(root, opts);
    const victim = cacheFile(cacheDir, first.images[1]!.hash, 10, policyTag({ size: 10 }));
    const bytes = fs.readFileSync(victim);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(victim, bytes);
    const second = await scanImageFolder(root, opts);
    assert.deepEqual(second.stats.rebuiltCorrupt, [victim]);
    assert.equal(second.stats.decoded, 1);
    const third = await scanImageFolder(root, opts);
    assert.equal(third.stats.decoded, 0);
  });

  it('buildImageCache fills the cache after a check-only scan, once', async () => {
    const f = await scanImageFolder(root, { limitInputPixels: 1_000_000, progressLabel: null });
    const cache = { cacheDir: path.join(t.dir, 'cache3'), imageSize: 6 };
    const s1 = await buildImageCache(f, cache, { progressLabel: null });
    const distinct = new Set(f.images.map((i) => i.hash)).size;
    assert.equal(distinct, f.images.length - 1);
    assert.equal(s1.decoded, distinct);
    const s2 = await buildImageCache(f, cache, { progressLabel: null });
    assert.deepEqual([s2.decoded, s2.fromCache], [0, distinct]);
  });

  it('names a missing data folder and a root without class folders', async () => {
    const missing = path.join(t.dir, 'no-such-folder');
    await assert.rejects(
      scanImageFolder(missing, { progressLabel: null }),
      isErr('missing-data-folder', missing),
    );
    const flat = path.join(t.dir, 'flat');
    write(path.join(flat, 'a.jpg'), await jpeg(1));
    await assert.rejects(scanImageFolder(flat, { progressLabel: null }), isErr('no-classes', flat));
  });

  it('names an empty class folder and one with only unusable files', async () => {
    const r = path.join(t.dir, 'emptyclass');
    await writeClass(r, 'A', 2, 1);
    fs.mkdirSync(path.join(r, 'B'));
    await assert.rejects(
      scanImageFolder(r, { progressLabel: null }),
      isErr('empty-class', path.join(r, 'B')),
    );
    write(path.join(r, 'B', 'zero.jpg'), new Uint8Array(0));
    await assert.rejects(
      scanImageFolder(r, { progressLabel: null }),
      (e: unknown) =>
        isErr('empty-class', path.join(r, 'B'))(e) &&
        /B\/zero\.jpg \(empty-file\)/.test((e as Error).message),
    );
  });

  it('refuses a symlink that leads outside the data folder, naming it', async () => {
    const r = path.join(t.dir, 'links');
    await writeClass(r, 'A', 2, 1);
    const outside = write(path.join(t.dir, 'outside.jpg'), await jpeg(9));
    const link = path.join(r, 'A', 'sneaky.jpg');
    fs.symlinkSync(outside, link);
    await assert.rejects(
      scanImageFolder(r, { progressLabel: null }),
      (e: unknown) => isErr('path-escape', link)(e) && (e as Error).message.includes(outside),
    );
    fs.unlinkSync(link);
    const dirLink = path.join(r, 'Elsewhere');
    fs.symlinkSync(t.dir, dirLink);
    await assert.rejects(
      scanImageFolder(r, { progressLabel: null }),
      isErr('path-escape', dirLink),
    );
    fs.unlinkSync(dirLink);
    // A link that stays inside is followed.
    fs.symlinkSync(path.join(r, 'A', 'img000.jpg'), path.join(r, 'A', 'alias.jpg'));
    const f = await scanImageFolder(r, { progressLabel: null });
    assert.equal(f.images.length, 3);
    assert.equal(f.duplicates.length, 1);
  });

  it('skips a dangling symlink as unreadable', async () => {
    const r = path.join(t.dir, 'dangling');
    await writeClass(r, 'A', 2, 1);
    fs.symlinkSync(path.join(r, 'A', 'gone.jpg'), path.join(r, 'A', 'link.jpg'));
    const f = await scanImageFolder(r, { progressLabel: null });
    assert.equal(f.images.length, 2);
    assert.deepEqual(
      f.skipped.map((s) => [s.path, s.class, s.reason]),
      [['A/link.jpg', 'A', 'unreadable']],
    );
    assert.match(f.skipped[0]!.message, /ENOENT/);
  });

  it('validates its options', async () => {
    await assert.rejects(
      scanImageFolder(root, { limitInputPixels: 0, progressLabel: null }),
      /limitInputPixels/,
    );
    await assert.rejects(
      scanImageFolder(root, { cache: { cacheDir: t.dir, imageSize: 0 }, progressLabel: null }),
      /imageSize/,
    );
    await assert.rejects(
      scanImageFolder(root, { concurrency: 0, progressLabel: null }),
      /concurrency/,
    );
  });
});
