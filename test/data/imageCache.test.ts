import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  cacheFile,
  encodeCachedImage,
  isCachedImageValid,
  readCachedImage,
  writeCachedImage,
} from '../../lib/data/imageCache';
import { ArtstyleError } from '../../lib/util/errors';
import { tempDir } from './fixtures';

const t = tempDir('cache');
after(t.cleanup);
const hash = 'ab'.repeat(32);
const rgb = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 13) % 256);

describe('image cache file', () => {
  it('round-trips and is keyed by hash, size and policy', async () => {
    const f = cacheFile(t.dir, hash, 4, 'p1-lanczos3');
    assert.equal(f, path.join(t.dir, '4px-p1-lanczos3', 'ab', `${hash}.rgb`));
    writeCachedImage(f, 4, rgb);
    const back = await readCachedImage(f, 4);
    assert.deepEqual(back.data, rgb);
    assert.equal(fs.readdirSync(path.dirname(f)).length, 1, 'no temporary file left behind');
  });

  it('detects and names a truncated, damaged, foreign or wrong-size file', async () => {
    const f = path.join(t.dir, 'x.rgb');
    const good = encodeCachedImage(4, rgb);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 5), /payload bytes/],
      ['flipped', Buffer.from(good.map((b, i) => (i === good.length - 1 ? b ^ 1 : b))), /checksum/],
      [
        'foreign',
        Buffer.from('PNG not a cache file at all, but long enough for a header....'),
        /wrong magic/,
      ],
      ['short', Buffer.from('abc'), /shorter than the header/],
    ];
    for (const [label, bytes, re] of cases) {
      fs.writeFileSync(f, bytes);
      await assert.rejects(
        readCachedImage(f, 4),
        (e: unknown) =>
          e instanceof ArtstyleError &&
          e.code === 'corrupt-cache' &&
          e.subject === f &&
          re.test(e.message),
        label,
      );
    }
    fs.writeFileSync(f, good);
    await assert.rejects(readCachedImage(f, 8), /holds 4px images, expected 8px/);
  });

  it('isCachedImageValid: false for missing, reports corrupt ones', async () => {
    const seen: string[] = [];
    assert.equal(
      await isCachedImageValid(path.join(t.dir, 'none.rgb'), 4, (e) => seen.push(e.message)),
      false,
    );
    assert.equal(seen.length, 0);
    const f = path.join(t.dir, 'bad.rgb');
    fs.writeFileSync(f, 'garbage');
    assert.equal(await isCachedImageValid(f, 4, (e) => seen.push(e.subject ?? '')), false);
    assert.deepEqual(seen, [f]);
  });

  it('refuses a malformed hash and a wrong-length payload', () => {
    assert.throws(() => cacheFile(t.dir, '../../etc', 4, 'p1'), /64 hex digits/);
    assert.throws(() => encodeCachedImage(4, new Uint8Array(5)), /expected 48 bytes/);
  });
});
