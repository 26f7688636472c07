import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadFile, downloadKerasWeights, FetchLike, kerasWeightsPath } from '../../lib/models';
import { ArtstyleError } from '../../lib/util/errors';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-weight-files-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const payload = Buffer.from('not really weights, '.repeat(1000));
const serve =
  (body: Buffer, status = 200): FetchLike =>
  async () => ({
    ok: status === 200,
    status,
    statusText: status === 200 ? 'OK' : 'Not Found',
    headers: { get: (h: string) => (h === 'content-length' ? String(body.length) : null) },
    body: (async function* () {
      for (let i = 0; i < body.length; i += 4096) yield body.subarray(i, i + 4096);
    })(),
  });
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('weight downloads', () => {
  it('streams to a temporary name and renames into place when the MD5 matches', async () => {
    const target = path.join(dir, 'ok', 'w.h5');
    await downloadFile('https://example.invalid/w.h5', target, md5(payload), serve(payload));
    assert.deepEqual(fs.readFileSync(target), payload);
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ['w.h5']);
  });

  it('keeps nothing when the MD5 differs or the server refuses', async () => {
    const target = path.join(dir, 'bad', 'w.h5');
    await assert.rejects(
      downloadFile('https://example.invalid/w.h5', target, '0'.repeat(32), serve(payload)),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'checksum-mismatch',
    );
    assert.deepEqual(fs.readdirSync(path.dirname(target)), []);
    await assert.rejects(
      downloadFile('https://example.invalid/w.h5', target, md5(payload), serve(payload, 404)),
      /answered 404/,
    );
  });

  it('offline, says so and where to put the file by hand', async () => {
    const offline: FetchLike = async () => {
      throw new TypeError('fetch failed', {
        cause: new Error('getaddrinfo ENOTFOUND storage.googleapis.com'),
      });
    };
    const expected = kerasWeightsPath('xception', dir).path;
    await assert.rejects(
      downloadKerasWeights('xception', { dir, fetch: offline }),
      (e: unknown) => {
        assert.ok(e instanceof ArtstyleError && e.code === 'offline');
        assert.match(e.message, /offline/);
        assert.match(e.message, /ENOTFOUND/);
        assert.ok(e.message.includes(expected));
        return true;
      },
    );
    assert.equal(kerasWeightsPath('xception', dir).exists, false);
  });
});
