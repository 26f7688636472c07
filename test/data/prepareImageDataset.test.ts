import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { countsTable } from '../../lib/data/countsTable';
import { prepareImageDataset } from '../../lib/data/prepareImageDataset';
import { scanReport } from '../../lib/data/scanReport';
import { jpeg, tempDir, write, writeClass } from './fixtures';

const t = tempDir('prepare');
after(t.cleanup);

describe('prepareImageDataset', () => {
  it('scans, caches, splits and saves; a second run reuses everything', async () => {
    const root = path.join(t.dir, 'data');
    await writeClass(root, 'Medieval', 5, 0);
    await writeClass(root, 'Realism', 4, 90);
    write(path.join(root, 'Realism', 'broken.jpg'), (await jpeg(1)).subarray(0, 100));
    const opts = {
      root,
      cacheDir: path.join(t.dir, 'cache'),
      imageSize: 16,
      seed: 3,
      progressLabel: null,
    };
    const a = await prepareImageDataset(opts);
    assert.equal(a.reused, false);
    assert.equal(a.manifestFile, path.join(t.dir, 'cache', 'manifest-seed3.json'));
    assert.equal(a.folder.stats.decoded, 10);
    assert.deepEqual(countsTable(a.manifest).rows.at(-1), {
      class: 'Total',
      train: 5,
      val: 2,
      test: 2,
      total: 9,
    });
    const b = await prepareImageDataset(opts);
    assert.equal(b.reused, true);
    assert.equal(b.folder.stats.decoded, 0);
    assert.deepEqual(b.manifest, a.manifest);
    const report = scanReport(b.folder);
    assert.deepEqual(
      report.skipped.map((s) => [s.path, s.reason]),
      [['Realism/broken.jpg', 'corrupt-or-truncated']],
    );
    assert.deepEqual(report.skippedFrame?.shape, [1, 4]);
    assert.equal(report.duplicatesFrame, null);
  });
});
