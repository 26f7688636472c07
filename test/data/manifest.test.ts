import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { countsTable } from '../../lib/data/countsTable';
import type { ImageFolder } from '../../lib/data/imageFolder';
import { buildManifest, loadManifest, prepareManifest, splitItems } from '../../lib/data/manifest';
import { ArtstyleError } from '../../lib/util/errors';
import { sha256 } from '../../lib/util/fs';
import { tempDir } from './fixtures';

const t = tempDir('manifest');
after(t.cleanup);

function folder(counts: Record<string, number>): ImageFolder {
  const classNames = Object.keys(counts).sort();
  const images = classNames.flatMap((c) =>
    Array.from({ length: counts[c]! }, (_, i) => ({
      path: `${c}/${i}.jpg`,
      class: c,
      hash: sha256(`${c}${i}`),
      bytes: 1,
    })),
  );
  return {
    root: path.join(t.dir, 'data'),
    classNames,
    images,
    skipped: [],
    duplicates: [],
    stats: { decoded: 0, fromCache: 0, rebuiltCorrupt: [] },
  };
}

describe('manifest', () => {
  const f = folder({ Baroque: 10, Rococo: 5 });

  it('is saved with its inputs and reused while they are unchanged', () => {
    const file = path.join(t.dir, 'split.json');
    const first = prepareManifest(f, file, 42);
    assert.equal(first.reused, false);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(saved.formatVersion, 1);
    assert.equal(saved.seed, 42);
    assert.deepEqual(saved.fractions, { train: 0.6, val: 0.2, test: 0.2 });
    assert.equal(saved.root, f.root);
    assert.deepEqual(Object.keys(saved.items[0]).sort(), ['class', 'hash', 'path', 'split']);
    const again = prepareManifest(f, file, 42);
    assert.equal(again.reused, true);
    assert.deepEqual(again.manifest, first.manifest);
    // Another seed, other fractions, or a changed file: split again.
    assert.equal(prepareManifest(f, file, 43).reused, false);
    assert.equal(prepareManifest(f, file, 43, { train: 0.5, val: 0.25, test: 0.25 }).reused, false);
    const changed = {
      ...f,
      images: f.images.map((im, i) => (i === 0 ? { ...im, hash: sha256('new') } : im)),
    };
    assert.equal(
      prepareManifest(changed, file, 43, { train: 0.5, val: 0.25, test: 0.25 }).reused,
      false,
    );
  });

  it('the same seed gives the same manifest', () => {
    assert.deepEqual(buildManifest(f, 5), buildManifest(folder({ Rococo: 5, Baroque: 10 }), 5));
  });

  it('loadManifest names a corrupt or foreign file, and prepareManifest replaces it', () => {
    const file = path.join(t.dir, 'bad.json');
    fs.writeFileSync(file, '{"formatVersion": 1, "items": [');
    assert.throws(
      () => loadManifest(file),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'corrupt-file' && e.subject === file,
    );
    const good = buildManifest(f, 1);
    const variants: [unknown, RegExp][] = [
      [{ ...good, formatVersion: 99 }, /format version 99/],
      [{ ...good, items: [{ ...good.items[0], split: 'holdout' }] }, /item 0 is malformed/],
      [{ ...good, items: [{ ...good.items[0], path: '../x.jpg' }] }, /leaves the data folder/],
      [{ ...good, fractions: { train: 0.5, val: 0.2, test: 0.2 } }, /must be 1/],
    ];
    for (const [value, re] of variants) {
      fs.writeFileSync(file, JSON.stringify(value));
      assert.throws(
        () => loadManifest(file),
        (e: unknown) =>
          e instanceof ArtstyleError &&
          e.code === 'corrupt-manifest' &&
          e.subject === file &&
          re.test(e.message),
      );
    }
    const r = prepareManifest(f, file, 1);
    assert.equal(r.reused, false);
    assert.match(r.replacedCorrupt ?? '', /bad\.json/);
    assert.equal(prepareManifest(f, file, 1).reused, true);
  });

  it('splitItems and countsTable agree with the rule', () => {
    const m = buildManifest(f, 9);
    assert.equal(splitItems(m, 'val').length, 2 + 1);
    const { rows, frame } = countsTable(m);
    assert.deepEqual(rows, [
      { class: 'Baroque', train: 6, val: 2, test: 2, total: 10 },
      { class: 'Rococo', train: 3, val: 1, test: 1, total: 5 },
      { class: 'Total', train: 9, val: 3, test: 3, total: 15 },
    ]);
    assert.deepEqual(frame.columns, ['class', 'train', 'val', 'test', 'total']);
    assert.deepEqual(frame.shape, [3, 5]);
    assert.deepEqual(frame['train'].values, [6, 3, 9]);
  });
});
