import * as fs from 'node:fs';
import { ArtstyleError } from '../util/errors';
import { parseCsv } from './csv';

export interface Artist {
  /** 1-based line in artists.csv, for messages. */
  line: number;
  name: string;
  /** Genres in file order, trimmed (`"Impressionism,Post-Impressionism"` gives two). */
  genres: string[];
  /** The `paintings` column as a number, when present. */
  paintings: number | null;
  /** Every column of the row, by header name (extra columns are kept here, otherwise ignored). */
  fields: Record<string, string>;
}

/** The columns the study needs; others (id, years, bio, ...) may be present and are ignored. */
export const REQUIRED_ARTIST_COLUMNS = ['name', 'genre'] as const;

/**
 * The file-name form of an artist's name: spaces become `_` and the text is Unicode NFC, so that
 * `Albrecht Dürer` matches a file name written in either composed or decomposed form.
 */
export function artistFileKey(name: string): string {
  return name.normalize('NFC').trim().replace(/ /g, '_');
}

/**
 * Reads and validates artists.csv (see parseCsv for the CSV dialect). Errors name the file and
 * line: missing required columns (all named), a row with a different number of cells, an empty
 * name or genre, a name repeated (compared in file-name form), a name that could not be a file
 * name (`/`, `\`, `..`), and, when `knownGenres` is given, a genre outside it.
 */
export function readArtists(
  csvFile: string,
  opts: { knownGenres?: readonly string[] } = {},
): Artist[] {
  let text: string;
  try {
    text = fs.readFileSync(csvFile, 'utf8');
  } catch (e) {
    throw new ArtstyleError(
      'missing-file',
      `cannot read ${csvFile}: ${(e as Error).message}`,
      csvFile,
      { cause: e },
    );
  }
  return parseArtists(text, csvFile, opts);
}

export function parseArtists(
  text: string,
  file = 'artists.csv',
  opts: { knownGenres?: readonly string[] } = {},
): Artist[] {
  const { header, rows } = parseCsv(text, file);
  const missing = REQUIRED_ARTIST_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length)
    throw new ArtstyleError(
      'missing-columns',
      `${file}: missing column(s) ${missing.join(', ')}; the header has ${header.join(', ')}`,
      file,
    );
  const known = opts.knownGenres ? new Set(opts.knownGenres) : null;
  const seen = new Map<string, number>();
  const artists: Artist[] = [];
  for (const { line, cells } of rows) {
    const where = `${file}:${line}`;
    const fail = (code: string, why: string): never => {
      throw new ArtstyleError(code, `${file}: line ${line}: ${why}`, where);
    };
    if (cells.length !== header.length)
      fail(
        'bad-csv',
        `${cells.length} cells, the header has ${header.length} (an unquoted comma?)`,
      );
    const fields: Record<string, string> = {};
    header.forEach((h, k) => (fields[h] = cells[k]!));
    const name = (fields['name'] ?? '').trim();
    if (!name) fail('empty-name', 'the artist name is empty');
    if (
      /[/\\]/.test(name) ||
      name.split(/[ _]/).includes('..') ||
      name === '.' ||
      name.includes('\0')
    )
      fail(
        'bad-name',
        `artist name ${JSON.stringify(name)} cannot be part of a file name inside the data folder`,
      );
    const key = artistFileKey(name);
    const earlier = seen.get(key);
    if (earlier !== undefined)
      fail('duplicate-artist', `artist ${JSON.stringify(name)} already appears on line ${earlier}`);
    seen.set(key, line);
    const genres = (fields['genre'] ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g.length > 0);
    if (genres.length === 0) fail('empty-genre', `artist ${JSON.stringify(name)} has no genre`);
    if (known) {
      const unknown = genres.filter((g) => !known.has(g));
      if (unknown.length)
        fail(
          'unknown-genre',
          `artist ${JSON.stringify(name)} has unknown genre(s) ${unknown.join(', ')}`,
        );
    }
    const p = fields['paintings'];
    const paintings = p !== undefined && /^\s*\d+\s*$/.test(p) ? Number(p) : null;
    artists.push({ line, name, genres: [...new Set(genres)], paintings, fields });
  }
  return artists;
}
