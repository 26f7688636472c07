import { ARTISTS } from './artists';

/** One CSV field, quoted as RFC 4180 requires: only when it holds a comma, a quote or a newline. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const ARTISTS_CSV_COLUMNS = [
  'id',
  'name',
  'years',
  'genre',
  'nationality',
  'bio',
  'wikipedia',
  'paintings',
] as const;

/** artists.csv of the painting set, with `paintings` set to the number of files generated. */
export function artistsCsv(paintingCounts: readonly number[]): string {
  const lines = [ARTISTS_CSV_COLUMNS.join(',')];
  ARTISTS.forEach((a, i) => {
    const row = [a.id, a.name, a.years, a.genre, a.nationality, a.bio, a.wikipedia];
    lines.push([...row, paintingCounts[i] ?? 0].map(csvField).join(','));
  });
  return lines.join('\n') + '\n';
}
