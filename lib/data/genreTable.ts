import { DataFrame } from 'danfojs-node';
import type { Artist } from './artists';

export interface GenreRow {
  genre: string;
  /** Artists that have the genre. */
  artists: number;
  /** Images of those artists (0 when no image counts are given). */
  images: number;
}

/**
 * How often each genre occurs, most artists first (ties by name). `imagesPerArtist` (for example
 * from matchPaintingImages) adds the number of images that carry each genre: an image inherits
 * every genre of its artist, which is how the study labels paintings.
 */
export function genreFrequencyTable(
  artists: readonly Artist[],
  imagesPerArtist: ReadonlyMap<string, number> = new Map(),
): { rows: GenreRow[]; frame: DataFrame } {
  const byGenre = new Map<string, GenreRow>();
  for (const a of artists) {
    for (const g of a.genres) {
      const row = byGenre.get(g) ?? { genre: g, artists: 0, images: 0 };
      row.artists++;
      row.images += imagesPerArtist.get(a.name) ?? 0;
      byGenre.set(g, row);
    }
  }
  const rows = [...byGenre.values()].sort(
    (a, b) => b.artists - a.artists || (a.genre < b.genre ? -1 : a.genre > b.genre ? 1 : 0),
  );
  const frame = new DataFrame(
    rows.map((r) => ({ ...r })),
    { columns: ['genre', 'artists', 'images'] },
  );
  return { rows, frame };
}
