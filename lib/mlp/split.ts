/**
 * Train/test splits for the metadata study. The seed splits by painting and does not state its
 * fractions; 80/20 is used here (testFraction 0.2). Splitting by artist keeps every painting of
 * an artist on one side: since genre labels come per artist, a painting split lets a model score
 * by recognising the artist rather than the genre.
 */
import { check } from '../util/errors';
import { Rng } from '../util/rng';

export interface Split {
  train: number[];
  test: number[];
}

export interface SplitOptions {
  testFraction?: number;
  seed?: number;
}

function fraction(options: SplitOptions): number {
  const f = options.testFraction ?? 0.2;
  check(f > 0 && f < 1, 'testFraction', `expected a value in (0, 1), got ${f}`);
  return f;
}

/** Shuffles 0..n-1 with the seed and puts round(n * testFraction) of them in test. */
export function splitByPainting(n: number, options: SplitOptions = {}): Split {
  check(Number.isInteger(n) && n >= 2, 'n', `expected an integer >= 2, got ${n}`);
  const f = fraction(options);
  const order = new Rng(options.seed ?? 42)
    .fork('split-painting')
    .shuffle(Array.from({ length: n }, (_, i) => i));
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * f)));
  return {
    train: order.slice(nTest).sort((a, b) => a - b),
    test: order.slice(0, nTest).sort((a, b) => a - b),
  };
}

/**
 * Whole artists go to test, in a seeded random order, as long as adding the next one brings the
 * test size closer to round(n * testFraction); the rest go to train. No artist is on both sides.
 * `artists[i]` is the artist of painting i.
 */
export function splitByArtist(artists: readonly string[], options: SplitOptions = {}): Split {
  const f = fraction(options);
  const byArtist = new Map<string, number[]>();
  artists.forEach((a, i) => {
    check(
      typeof a === 'string' && a.length > 0,
      `artists[${i}]`,
      'expected a non-empty artist name',
    );
    const list = byArtist.get(a) ?? [];
    list.push(i);
    byArtist.set(a, list);
  });
  check(byArtist.size >= 2, 'artists', `need at least 2 distinct artists, got ${byArtist.size}`);
  const names = [...byArtist.keys()].sort();
  new Rng(options.seed ?? 42).fork('split-artist').shuffle(names);
  const target = Math.round(artists.length * f);
  const testArtists = new Set<string>();
  let nTest = 0;
  for (const name of names) {
    const size = (byArtist.get(name) as number[]).length;
    if (testArtists.size === names.length - 1) break;
    if (testArtists.size === 0 || Math.abs(nTest + size - target) < Math.abs(nTest - target)) {
      testArtists.add(name);
      nTest += size;
    }
  }
  const train: number[] = [];
  const test: number[] = [];
  artists.forEach((a, i) => (testArtists.has(a) ? test : train).push(i));
  return { train, test };
}
