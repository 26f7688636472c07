import { DataFrame } from 'danfojs-node';
import type { Artist } from './artists';

export interface GenreRow {
  genre: string;
  /** Artists that have the genre. */
  artists: number;
  /** Images of those artists (0 when no image counts are given). */
  images: number;
}

export interface ArtistRow {
  artist: string;
  /** How many genres artists.csv gives the artist. */
  genres: number;
  /** Images of the artist (0 when no image counts are given). */
  images: number;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * artists.csv with its genre lists exploded, as a danfojs DataFrame: one row per (artist, genre),
 * with the artist's image count on each row (an image inherits every genre of its artist, which
 * is how the study labels paintings). The per-genre and per-artist tables are grouped from it.
 */
export function artistGenreFrame(
  artists: readonly Artist[],
  imagesPerArtist: ReadonlyMap<string, number> = new Map(),
): DataFrame {
  const rows = artists.flatMap((a) =>
    a.genres.map((genre) => ({ artist: a.name, genre, images: imagesPerArtist.get(a.name) ?? 0 })),
  );
  return new DataFrame(rows, { columns: ['artist', 'genre', 'images'] });
}

function frameRows(frame: DataFrame): (string | number)[][] {
  return frame.values as (string | number)[][];
}

/**
 * How often each genre occurs, most artists first (ties by name): the exploded frame grouped by
 * genre, artists counted and images summed by danfojs. `imagesPerArtist` (for example from
 * matchPaintingImages) gives the images that carry each genre.
 */
export function genreFrequencyTable(
  artists: readonly Artist[],
  imagesPerArtist: ReadonlyMap<string, number> = new Map(),
): { rows: GenreRow[]; frame: DataFrame } {
  const exploded = artistGenreFrame(artists, imagesPerArtist);
  const grouped =
    exploded.shape[0] > 0
      ? frameRows(exploded.groupby(['genre']).agg({ artist: 'count', images: 'sum' }))
      : [];
  const rows = grouped
    .map(([genre, count, images]) => ({
      genre: String(genre),
      artists: Number(count),
      images: Number(images),
    }))
    .sort((a, b) => b.artists - a.artists || byName(a.genre, b.genre));
  const frame = new DataFrame(
    rows.map((r) => ({ ...r })),
    { columns: ['genre', 'artists', 'images'] },
  );
  return { rows, frame };
}

/**
 * One row per artist, most images first (ties by name): the exploded frame grouped by artist,
 * genres counted by danfojs.
 */
export function artistTable(
  artists: readonly Artist[],
  imagesPerArtist: ReadonlyMap<string, number> = new Map(),
): { rows: ArtistRow[]; frame: DataFrame } {
  const exploded = artistGenreFrame(artists, imagesPerArtist);
  const grouped =
    exploded.shape[0] > 0
      ? frameRows(exploded.groupby(['artist']).agg({ genre: 'count', images: 'max' }))
      : [];
  const rows = grouped
    .map(([artist, genres, images]) => ({
      artist: String(artist),
      genres: Number(genres),
      images: Number(images),
    }))
    .sort((a, b) => b.images - a.images || byName(a.artist, b.artist));
  const frame = new DataFrame(
    rows.map((r) => ({ ...r })),
    { columns: ['artist', 'genres', 'images'] },
  );
  return { rows, frame };
}
