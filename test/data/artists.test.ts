import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { artistFileKey, parseArtists, readArtists } from '../../lib/data/artists';
import { artistGenreFrame, artistTable, genreFrequencyTable } from '../../lib/data/genreTable';
import { matchPaintingImages, paintingImagePath } from '../../lib/data/paintingImages';
import { loadPaintingsDataset } from '../../lib/data/paintingsDataset';
import { ArtstyleError } from '../../lib/util/errors';
import { tempDir, write } from './fixtures';

const t = tempDir('artists');
after(t.cleanup);

const HEADER = 'id,name,years,genre,nationality,bio,wikipedia,paintings';
const csv = [
  HEADER,
  '0,Amedeo Modigliani,1884 - 1920,Expressionism,Italian,"Painter, sculptor",http://x,193',
  '1,Albrecht Dürer,1471 - 1528,"Northern Renaissance",German,bio,http://y,328',
  '2,Claude Monet,1840 - 1926,"Impressionism, Post-Impressionism ",French,"He said ""light""",http://z,73',
  '3,Nobody Known,1900 - 2000,Impressionism,French,bio,http://w,0',
].join('\r\n');

const rejects = (text: string, code: string, re: RegExp, opts = {}) =>
  assert.throws(
    () => parseArtists(text, 'artists.csv', opts),
    (e: unknown) => e instanceof ArtstyleError && e.code === code && re.test(e.message),
  );

describe('artists.csv', () => {
  it('reads rows with quoted commas, escaped quotes, BOM and CRLF; splits and trims genres', () => {
    const file = write(path.join(t.dir, 'artists.csv'), '\ufeff' + csv + '\r\n');
    const a = readArtists(file);
    assert.deepEqual(
      a.map((x) => [x.line, x.name, x.genres, x.paintings]),
      [
        [2, 'Amedeo Modigliani', ['Expressionism'], 193],
        [3, 'Albrecht Dürer', ['Northern Renaissance'], 328],
        [4, 'Claude Monet', ['Impressionism', 'Post-Impressionism'], 73],
        [5, 'Nobody Known', ['Impressionism'], 0],
      ],
    );
    assert.equal(a[2]!.fields['bio'], 'He said "light"');
    assert.equal(a[0]!.fields['bio'], 'Painter, sculptor');
  });

  it('allows extra and missing optional columns, names missing required ones', () => {
    const a = parseArtists('name,genre,favourite colour\nX,Baroque,blue\n');
    assert.deepEqual(a[0]!.genres, ['Baroque']);
    assert.equal(a[0]!.paintings, null);
    rejects(
      'id,name,years\n0,X,1900\n',
      'missing-columns',
      /missing column\(s\) genre; the header has id, name, years/,
    );
    rejects('id,years\n0,1900\n', 'missing-columns', /missing column\(s\) name, genre/);
  });

  it('names the row of an empty genre, an empty name, a duplicate name, a bad cell count', () => {
    rejects('name,genre\nA,Baroque\nB, \n', 'empty-genre', /line 3: artist "B" has no genre/);
    rejects('name,genre\nA,Baroque\nB,","\n', 'empty-genre', /line 3/);
    rejects('name,genre\n ,Baroque\n', 'empty-name', /line 2/);
    rejects(
      'name,genre\nA B,Baroque\nC,Rococo\nA_B,Rococo\n',
      'duplicate-artist',
      /line 4: .*already appears on line 2/,
    );
    rejects('name,genre\nA,Baroque,Rococo\n', 'bad-csv', /line 2: 3 cells, the header has 2/);
  });

  it('refuses names that would escape the images folder', () => {
    rejects(
      'name,genre\n../../etc/passwd,Baroque\n',
      'bad-name',
      /line 2: artist name "..\/..\/etc\/passwd"/,
    );
    rejects('name,genre\n.. ,Baroque\n', 'bad-name', /line 2/);
    rejects('name,genre\nA\\B,Baroque\n', 'bad-name', /line 2/);
  });

  it('reports unknown genres by row when the genre list is fixed', () => {
    rejects(
      'name,genre\nA,Baroque\nB,"Baroque,Vaporwave"\n',
      'unknown-genre',
      /line 3: .*Vaporwave/,
      {
        knownGenres: ['Baroque', 'Rococo'],
      },
    );
  });

  it('names a missing file', () => {
    const f = path.join(t.dir, 'nope.csv');
    assert.throws(
      () => readArtists(f),
      (e: unknown) => e instanceof ArtstyleError && e.subject === f,
    );
  });
});

describe('matchPaintingImages', () => {
  it('matches by file name, NFC/NFD-insensitively, and reports the leftovers', () => {
    const artists = parseArtists(csv);
    const dir = path.join(t.dir, 'resized');
    const nfd = 'Albrecht_Dürer'.normalize('NFD');
    assert.notEqual(nfd, 'Albrecht_Dürer');
    for (const f of [
      'Amedeo_Modigliani_2.jpg',
      'Amedeo_Modigliani_10.jpg',
      `${nfd}_1.jpg`,
      'Claude_Monet_1.png',
      'Vincent_van_Gogh_1.jpg',
      'notes.txt',
      '.DS_Store',
    ])
      write(path.join(dir, f), 'x');
    const m = matchPaintingImages(dir, artists);
    assert.deepEqual(
      m.images.map((i) => [i.artist, i.number]),
      [
        ['Amedeo Modigliani', 2],
        ['Amedeo Modigliani', 10],
        ['Albrecht Dürer', 1],
        ['Claude Monet', 1],
      ],
    );
    assert.deepEqual(m.unknownArtistFiles, ['Vincent_van_Gogh_1.jpg']);
    assert.deepEqual(m.unrecognisedFiles, ['notes.txt']);
    assert.deepEqual(m.artistsWithoutImages, ['Nobody Known']);
    assert.equal(paintingImagePath(dir, m.images[0]!), path.join(dir, 'Amedeo_Modigliani_2.jpg'));
    assert.throws(
      () => paintingImagePath(dir, { path: '../artists.csv', artist: 'x', number: 1 }),
      (e: unknown) => e instanceof ArtstyleError && e.code === 'path-escape',
    );
    assert.equal(artistFileKey('Albrecht Dürer'.normalize('NFD')), 'Albrecht_Dürer');
  });

  it('names a missing images folder', () => {
    const d = path.join(t.dir, 'none');
    assert.throws(
      () => matchPaintingImages(d, []),
      (e: unknown) => e instanceof ArtstyleError && e.subject === d,
    );
  });
});

describe('genreFrequencyTable', () => {
  it('counts artists and images per genre, most frequent first', () => {
    const artists = parseArtists(csv);
    const { rows, frame } = genreFrequencyTable(
      artists,
      new Map([
        ['Claude Monet', 3],
        ['Nobody Known', 2],
      ]),
    );
    assert.deepEqual(rows, [
      { genre: 'Impressionism', artists: 2, images: 5 },
      { genre: 'Expressionism', artists: 1, images: 0 },
      { genre: 'Northern Renaissance', artists: 1, images: 0 },
      { genre: 'Post-Impressionism', artists: 1, images: 3 },
    ]);
    assert.deepEqual(frame.shape, [4, 3]);
    assert.deepEqual(genreFrequencyTable([]).rows, []);
  });

  it('is grouped from the exploded artists frame, one row per (artist, genre)', () => {
    const artists = parseArtists(csv);
    const exploded = artistGenreFrame(artists, new Map([['Claude Monet', 3]]));
    const pairs = artists.reduce((s, a) => s + a.genres.length, 0);
    assert.deepEqual(exploded.shape, [pairs, 3]);
    assert.deepEqual(exploded.columns, ['artist', 'genre', 'images']);
  });
});

describe('artistTable', () => {
  it('counts genres and images per artist, most images first', () => {
    const artists = parseArtists(csv);
    const { rows, frame } = artistTable(artists, new Map([['Claude Monet', 3]]));
    assert.equal(rows.length, artists.length);
    assert.deepEqual(rows[0], { artist: 'Claude Monet', genres: 2, images: 3 });
    for (const r of rows) {
      const a = artists.find((x) => x.name === r.artist)!;
      assert.equal(r.genres, a.genres.length);
    }
    assert.deepEqual(frame.columns, ['artist', 'genres', 'images']);
    assert.deepEqual(artistTable([]).rows, []);
  });
});

describe('loadPaintingsDataset', () => {
  it('reads artists.csv and resized/, one multi-hot genre row per image', () => {
    const root = path.join(t.dir, 'paintings');
    write(
      path.join(root, 'artists.csv'),
      'name,genre\nA Painter,"Rococo, Baroque"\nB Painter,Baroque\n',
    );
    for (const f of ['A_Painter_1.jpg', 'A_Painter_2.jpg', 'B_Painter_1.jpg'])
      write(path.join(root, 'resized', f), 'x');
    const d = loadPaintingsDataset(root);
    assert.deepEqual(d.genres.classes, ['Baroque', 'Rococo']);
    assert.deepEqual([...d.genres.data], [1, 1, 1, 1, 1, 0]);
    assert.deepEqual(d.genreRows, [
      { genre: 'Baroque', artists: 2, images: 3 },
      { genre: 'Rococo', artists: 1, images: 2 },
    ]);
    assert.throws(
      () => loadPaintingsDataset(path.join(t.dir, 'absent')),
      (e: unknown) =>
        e instanceof ArtstyleError &&
        e.code === 'missing-file' &&
        /absent.artists\.csv/.test(e.message),
    );
  });
});
