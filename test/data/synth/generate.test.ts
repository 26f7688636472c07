import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import {
  ARTISTS_CSV_COLUMNS,
  generateAll,
  generateSculptures,
  PaintingSummary,
  SCULPTURE_STYLES,
  SculptureSummary,
} from '../../../lib/data/synth';
import { ArtstyleError } from '../../../lib/util/errors';

/** Every file under `dir` (relative, `/`-separated) with the SHA-256 of its bytes. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else
        out.set(
          r,
          createHash('sha256')
            .update(fs.readFileSync(path.join(dir, r)))
            .digest('hex'),
        );
    }
  };
  walk('');
  return out;
}

/** A strict RFC 4180 reader, independent of the writer under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      assert.equal(field, '', `quote inside an unquoted field near offset ${i}`);
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
    i++;
  }
  assert.equal(quoted, false, 'unterminated quoted field');
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

describe('bundled data generator (smoke size)', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'artstyle-synth-'));
  const a = path.join(base, 'a');
  let sculptures: SculptureSummary;
  let paintings: PaintingSummary;

  before(async () => {
    ({ sculptures, paintings } = await generateAll({ outDir: a, seed: 42, size: 'smoke' }));
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it('gives byte-identical files for the same seed and different files for another', async () => {
    const b = path.join(base, 'b');
    // A folder left by a killed run (a pid that cannot exist) is cleaned up on the way.
    const stale = path.join(b, '.sculptures.tmp-999999999-0badc0de');
    fs.mkdirSync(stale, { recursive: true });
    await generateAll({ outDir: b, seed: 42, size: 'smoke' });
    assert.equal(fs.existsSync(stale), false, 'stale temporary folder removed');
    const ta = tree(a);
    const tb = tree(b);
    assert.ok(ta.size > 400, `expected over 400 files, got ${ta.size}`);
    assert.deepEqual([...tb.entries()].sort(), [...ta.entries()].sort());

    const c = path.join(base, 'c');
    await generateSculptures({ outDir: c, seed: 7, size: 'smoke' });
    const tc = tree(path.join(c, 'sculptures'));
    const ts = tree(path.join(a, 'sculptures'));
    let same = 0;
    for (const [f, h] of tc) if (ts.get(f) === h) same++;
    // Only the zero-byte and the not-an-image files may repeat across seeds.
    assert.ok(same <= 2, `${same} files identical across seeds`);
  });

  it('lays out twelve style folders with the exact names and the counted images', () => {
    const root = path.join(a, 'sculptures');
    const dirs = fs
      .readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(dirs, [...SCULPTURE_STYLES].sort());
    const broken = new Set(sculptures.broken.map((b) => b.file));
    for (const style of SCULPTURE_STYLES) {
      const files = fs
        .readdirSync(path.join(root, style))
        .filter((f) => !broken.has(`${style}/${f}`));
      assert.equal(files.length, sculptures.counts[style], style);
    }
    assert.equal(
      sculptures.total,
      Object.values(sculptures.counts).reduce((s, c) => s + c, 0),
    );
  });

  it('is imbalanced like the study: largest style at least 4x the smallest', () => {
    const counts = Object.entries(sculptures.counts).sort((x, y) => y[1] - x[1]);
    const largest = (counts[0] as [string, number])[1];
    const smallest = (counts[counts.length - 1] as [string, number])[1];
    assert.ok(largest >= 4 * smallest, `${largest} vs ${smallest}`);
    assert.ok(smallest >= 5);
    assert.deepEqual(
      counts
        .slice(0, 2)
        .map((c) => c[0])
        .sort(),
      ['Baroque', 'Early Renaissance'],
    );
  });

  it('decodes every file except the deliberately broken ones, which sharp rejects', async () => {
    const root = path.join(a, 'sculptures');
    assert.deepEqual(sculptures.broken.map((b) => b.problem).sort(), [
      'empty',
      'not-an-image',
      'truncated',
    ]);
    for (const b of sculptures.broken) {
      const file = path.join(root, b.file);
      assert.ok(fs.existsSync(file), b.file);
      await assert.rejects(sharp(file).raw().toBuffer(), `${b.file} should not decode`);
    }
    const empty = sculptures.broken.find((b) => b.problem === 'empty') as { file: string };
    assert.equal(fs.statSync(path.join(root, empty.file)).size, 0);
    const truncated = sculptures.broken.find((b) => b.problem === 'truncated') as { file: string };
    const head = fs.readFileSync(path.join(root, truncated.file)).subarray(0, 2);
    assert.deepEqual([...head], [0xff, 0xd8], 'a truncated JPEG still starts like a JPEG');

    const broken = new Set(sculptures.broken.map((b) => b.file));
    const spaces = new Set<string>();
    let gray = 0;
    let alpha = 0;
    for (const style of SCULPTURE_STYLES) {
      for (const f of fs.readdirSync(path.join(root, style))) {
        if (broken.has(`${style}/${f}`)) continue;
        const m = await sharp(path.join(root, style, f)).metadata();
        const { info } = await sharp(path.join(root, style, f))
          .raw()
          .toBuffer({ resolveWithObject: true });
        assert.ok(info.width >= 16 && info.height >= 16, f);
        spaces.add(m.space ?? '?');
        if (m.channels === 1) gray++;
        if (m.hasAlpha) alpha++;
      }
    }
    assert.ok(spaces.has('cmyk'), `no CMYK file among ${[...spaces].join(', ')}`);
    assert.ok(gray >= 2, `grayscale files: ${gray}`);
    assert.ok(alpha >= 1, `files with alpha: ${alpha}`);
  });

  it('stores a valid PNG under a .jpg name, exact duplicates, and EXIF-rotated JPEGs', async () => {
    const root = path.join(a, 'sculptures');
    assert.equal(sculptures.disguised.length, 1);
    const d = sculptures.disguised[0] as { file: string };
    assert.match(d.file, /\.jpg$/);
    const magic = fs.readFileSync(path.join(root, d.file)).subarray(0, 4);
    assert.deepEqual([...magic], [0x89, 0x50, 0x4e, 0x47]);
    assert.equal((await sharp(path.join(root, d.file)).metadata()).format, 'png');

    assert.ok(sculptures.duplicates.length >= 2);
    for (const dup of sculptures.duplicates) {
      assert.notEqual(dup.file, dup.sameAs);
      assert.equal(
        dup.file.split('/')[0],
        dup.sameAs.split('/')[0],
        'duplicates stay in one class',
      );
      assert.deepEqual(
        fs.readFileSync(path.join(root, dup.file)),
        fs.readFileSync(path.join(root, dup.sameAs)),
      );
    }

    assert.deepEqual(sculptures.exifRotated.map((e) => e.orientation).sort(), [3, 6, 8]);
    for (const e of sculptures.exifRotated) {
      const file = path.join(root, e.file);
      const m = await sharp(file).metadata();
      assert.equal(m.orientation, e.orientation, e.file);
      const swapped = e.orientation !== 3;
      assert.equal(m.width, swapped ? e.height : e.width, `${e.file} stored width`);
      const upright = await sharp(file).rotate().raw().toBuffer({ resolveWithObject: true });
      assert.equal(upright.info.width, e.width, `${e.file} upright width`);
      assert.equal(upright.info.height, e.height, `${e.file} upright height`);
    }
  });

  it('writes artists.csv with the public columns, 50 artists and matching file counts', () => {
    const root = path.join(a, 'paintings');
    const rows = parseCsv(fs.readFileSync(path.join(root, 'artists.csv'), 'utf8'));
    assert.deepEqual(rows[0], [...ARTISTS_CSV_COLUMNS]);
    const body = rows.slice(1);
    assert.equal(body.length, 50);
    for (const r of body) assert.equal(r.length, 8, `row ${r[0]} has ${r.length} fields`);
    assert.deepEqual(
      body.map((r) => Number(r[0])),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const byName = new Map(body.map((r) => [r[1] as string, r]));
    assert.equal(byName.size, 50, 'artist names are unique');
    assert.equal(byName.get('Vasily Kandinsky')?.[3], 'Expressionism, Abstractionism');
    assert.equal(byName.get('Vincent van Gogh')?.[2], '1853 – 1890');
    assert.ok(
      body.some((r) => (r[5] as string).includes('"')),
      'some bio contains a quote',
    );

    const files = fs.readdirSync(path.join(root, 'resized'));
    assert.ok(files.includes('Albrecht_Dürer_1.jpg'.normalize('NFC')));
    assert.ok(files.every((f) => f === f.normalize('NFC')));
    let total = 0;
    for (const r of body) {
      const stem = (r[1] as string).replace(/ /g, '_');
      const n = Number(r[7]);
      assert.ok(n >= 1, `${r[1]} has paintings`);
      const mine = files.filter(
        (f) => f.startsWith(`${stem}_`) && /^\d+\.jpg$/.test(f.slice(stem.length + 1)),
      );
      const numbers = mine.map((f) => Number(f.slice(stem.length + 1, -4))).sort((x, y) => x - y);
      assert.deepEqual(
        numbers,
        Array.from({ length: n }, (_, i) => i + 1),
        r[1],
      );
      total += n;
    }
    assert.equal(total, files.length, 'every image belongs to an artist of the CSV');
    assert.equal(total, paintings.total);
    const counts = body.map((r) => [r[1], Number(r[7])] as const).sort((x, y) => y[1] - x[1]);
    assert.equal(counts[0]?.[0], 'Vincent van Gogh');
  });

  it('reuses a matching folder and refuses to replace one it did not make', async () => {
    const again = await generateSculptures({ outDir: a, seed: 42, size: 'smoke' });
    assert.equal(again.reused, true);
    assert.deepEqual(again.counts, sculptures.counts);

    const foreign = path.join(base, 'foreign');
    fs.mkdirSync(path.join(foreign, 'sculptures', 'Baroque'), { recursive: true });
    await assert.rejects(
      generateSculptures({ outDir: foreign, seed: 42, size: 'smoke' }),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'refusing-overwrite',
    );
    await assert.rejects(
      generateSculptures({ outDir: foreign, seed: 1.5, size: 'smoke' }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'seed',
    );
  });
});
