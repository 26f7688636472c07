import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanImageFolder } from '../../lib/data/imageFolder';
import { ArtstyleError } from '../../lib/util/errors';
import { jpeg, tempDir, write } from './fixtures';

const t = tempDir('resume');
after(t.cleanup);
const root = path.join(t.dir, 'data');
const count = 80;

before(async () => {
  for (let i = 0; i < count; i++)
    write(path.join(root, `c${i % 2}`, `i${i}.jpg`), await jpeg(i * 3, 400, 300));
});

function cacheEntries(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.rgb'))
    .sort();
}

describe('resizing killed with SIGKILL and resumed', () => {
  it('resumes where it stopped and ends with the same cache as an uninterrupted run', async () => {
    const cacheDir = path.join(t.dir, 'cache-killed');
    const lib = path.resolve(__dirname, '../../lib/data/imageFolder.js');
    const script =
      `require(${JSON.stringify(lib)}).scanImageFolder(${JSON.stringify(root)}, ` +
      `{ cache: { cacheDir: ${JSON.stringify(cacheDir)}, imageSize: 96 }, concurrency: 1, progressLabel: null })`;
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let seen = 0;
    while (seen < 5 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 5));
      seen = cacheEntries(cacheDir).length;
    }
    child.kill('SIGKILL');
    await exited;
    const before = cacheEntries(cacheDir).length;
    assert.ok(before >= 5 && before < count, `the kill landed after ${before} of ${count} images`);

    const resumed = await scanImageFolder(root, {
      cache: { cacheDir, imageSize: 96 },
      progressLabel: null,
    });
    assert.deepEqual(resumed.stats.rebuiltCorrupt, [], 'no finished entry was left half-written');
    assert.equal(resumed.stats.fromCache, before);
    assert.equal(resumed.stats.decoded, count - before);

    const fresh = path.join(t.dir, 'cache-fresh');
    await scanImageFolder(root, { cache: { cacheDir: fresh, imageSize: 96 }, progressLabel: null });
    const files = cacheEntries(fresh);
    assert.equal(files.length, count);
    assert.deepEqual(cacheEntries(cacheDir), files);
    for (const f of files)
      assert.ok(
        fs.readFileSync(path.join(fresh, f)).equals(fs.readFileSync(path.join(cacheDir, f))),
        f,
      );
  });

  it('an abort (Ctrl-C wired to a signal) stops at an image boundary and says how to resume', async () => {
    const cacheDir = path.join(t.dir, 'cache-aborted');
    const ctrl = new AbortController();
    let started = 0;
    const progress = setInterval(() => {
      if (cacheEntries(cacheDir).length >= 3 && started++ === 0) ctrl.abort();
    }, 2);
    try {
      await assert.rejects(
        scanImageFolder(root, {
          cache: { cacheDir, imageSize: 96 },
          concurrency: 2,
          progressLabel: null,
          signal: ctrl.signal,
        }),
        (e: unknown) =>
          e instanceof ArtstyleError &&
          e.code === 'interrupted' &&
          /stopped after \d+ of 80; finished images are cached; run the same command again/.test(
            e.message,
          ),
      );
    } finally {
      clearInterval(progress);
    }
    const partial = cacheEntries(cacheDir).length;
    assert.ok(partial >= 3 && partial < count, String(partial));
    const resumed = await scanImageFolder(root, {
      cache: { cacheDir, imageSize: 96 },
      progressLabel: null,
    });
    assert.deepEqual(resumed.stats.rebuiltCorrupt, []);
    assert.equal(resumed.stats.fromCache + resumed.stats.decoded, count);
    assert.equal(resumed.stats.fromCache, partial);
  });

  it('a cache that cannot be written is an error naming the file, not a skipped image', async () => {
    const blocker = write(path.join(t.dir, 'not-a-folder'), 'plain file');
    await assert.rejects(
      scanImageFolder(root, { cache: { cacheDir: blocker, imageSize: 8 }, progressLabel: null }),
      (e: unknown) =>
        e instanceof ArtstyleError &&
        e.code === 'write-failed' &&
        (e.subject ?? '').startsWith(blocker),
    );
  });
});
