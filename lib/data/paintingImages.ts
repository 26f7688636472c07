import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { resolveInside } from '../util/fs';
import { Artist, artistFileKey } from './artists';

export interface PaintingImage {
  /** Relative to the images folder. */
  path: string;
  artist: string;
  /** The `<n>` of `<Artist_Name>_<n>.jpg`. */
  number: number;
}

export interface PaintingMatch {
  images: PaintingImage[];
  /** Files named like a painting but of an artist not in artists.csv. */
  unknownArtistFiles: string[];
  /** Files whose name is not `<Artist_Name>_<n>.<jpg|jpeg|png>`. */
  unrecognisedFiles: string[];
  /** Artists of the CSV with no image. */
  artistsWithoutImages: string[];
}

const PAINTING_FILE = /^(.+)_(\d+)\.(jpe?g|png)$/i;

/**
 * Matches the files of `imagesDir` (the data set's `resized/` folder) to artists by name:
 * `<Artist_Name>_<n>.jpg`, spaces as `_`, compared in Unicode NFC so that composed and decomposed
 * spellings (Albrecht Dürer) match. Images sorted by artist (CSV order) then number.
 */
export function matchPaintingImages(imagesDir: string, artists: readonly Artist[]): PaintingMatch {
  let names: string[];
  try {
    names = fs.readdirSync(imagesDir).filter((f) => !f.startsWith('.'));
  } catch (e) {
    throw new ArtstyleError(
      'missing-data-folder',
      `images folder ${imagesDir} cannot be read: ${(e as Error).message}`,
      imagesDir,
      { cause: e },
    );
  }
  names.sort();
  const byKey = new Map(artists.map((a) => [artistFileKey(a.name), a]));
  const order = new Map(artists.map((a, i) => [a.name, i]));
  const images: PaintingImage[] = [];
  const unknownArtistFiles: string[] = [];
  const unrecognisedFiles: string[] = [];
  for (const file of names) {
    resolveInside(imagesDir, file);
    const m = PAINTING_FILE.exec(file.normalize('NFC'));
    if (!m) {
      unrecognisedFiles.push(file);
      continue;
    }
    const artist = byKey.get(m[1]!);
    if (!artist) unknownArtistFiles.push(file);
    else images.push({ path: file, artist: artist.name, number: Number(m[2]) });
  }
  images.sort((a, b) => order.get(a.artist)! - order.get(b.artist)! || a.number - b.number);
  const withImages = new Set(images.map((im) => im.artist));
  return {
    images,
    unknownArtistFiles,
    unrecognisedFiles,
    artistsWithoutImages: artists.filter((a) => !withImages.has(a.name)).map((a) => a.name),
  };
}

/** The absolute path of an image, refusing any that would leave the folder. */
export function paintingImagePath(imagesDir: string, image: PaintingImage): string {
  return resolveInside(path.resolve(imagesDir), image.path);
}
