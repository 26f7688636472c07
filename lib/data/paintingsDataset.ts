import { resolveInside } from '../util/fs';
import { Artist, readArtists } from './artists';
import { artistTable, ArtistRow, genreFrequencyTable, GenreRow } from './genreTable';
import { MultiLabelBinarizer, MultiLabelMatrix } from './multiLabel';
import { PaintingMatch, matchPaintingImages } from './paintingImages';

export interface PaintingsDataset {
  root: string;
  artists: Artist[];
  match: PaintingMatch;
  /** One row per matched image (in `match.images` order): the genres of its artist, multi-hot. */
  genres: MultiLabelMatrix;
  /** Genre frequencies over artists and matched images. */
  genreRows: GenreRow[];
  /** Genres and matched images per artist. */
  artistRows: ArtistRow[];
}

/**
 * The painting data set as the second study reads it: `<root>/artists.csv` (validated, see
 * readArtists) and the images in `<root>/resized/` matched to artists by file name. Every image
 * is labelled with all genres of its artist; the genre columns are the sorted unique genres
 * (MultiLabelBinarizer), or `knownGenres` in its order when given (then a genre outside it is an
 * error naming the CSV row).
 */
export function loadPaintingsDataset(
  root: string,
  opts: { knownGenres?: readonly string[] } = {},
): PaintingsDataset {
  const artists = readArtists(resolveInside(root, 'artists.csv'), opts);
  const match = matchPaintingImages(resolveInside(root, 'resized'), artists);
  const byName = new Map(artists.map((a) => [a.name, a]));
  const lists = match.images.map((im) => byName.get(im.artist)!.genres);
  const binarizer = new MultiLabelBinarizer(opts.knownGenres);
  const genres = binarizer.fit(artists.map((a) => a.genres)).transform(lists);
  const perArtist = new Map<string, number>();
  for (const im of match.images) perArtist.set(im.artist, (perArtist.get(im.artist) ?? 0) + 1);
  return {
    root,
    artists,
    match,
    genres,
    genreRows: genreFrequencyTable(artists, perArtist).rows,
    artistRows: artistTable(artists, perArtist).rows,
  };
}
