import { ArtstyleError, check } from '../util/errors';
import { Rng } from '../util/rng';
import type { ImageEntry } from './imageFolder';

export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/** The seed's split: 60/20/20. */
export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.6, val: 0.2, test: 0.2 };

export interface SplitItem extends ImageEntry {
  split: SplitName;
}

export function validateFractions(f: SplitFractions): void {
  for (const k of SPLIT_NAMES) {
    const v = f[k];
    check(
      typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1,
      `fractions.${k}`,
      `expected a number in (0, 1), got ${String(v)}`,
    );
  }
  const keys = Object.keys(f).filter((k) => !(SPLIT_NAMES as readonly string[]).includes(k));
  check(
    keys.length === 0,
    `fractions.${keys[0]}`,
    'unknown key; allowed keys are train, val, test',
  );
  const sum = f.train + f.val + f.test;
  check(Math.abs(sum - 1) < 1e-9, 'fractions', `train + val + test must be 1, got ${sum}`);
}

/**
 * How many of a class's n images go to each split. The rounding rule:
 *   n_val = round(f_val * n), n_test = round(f_test * n), n_train = n - n_val - n_test,
 * with round() rounding halves up (Math.round). Train takes the remainder so that every image is
 * used and the two evaluation sets get their share as closely as one image allows.
 * For 60/20/20: n = 10 -> 6/2/2, n = 7 -> 5/1/1, n = 3 -> 1/1/1, n = 2 -> impossible.
 */
export function splitCounts(n: number, f: SplitFractions = DEFAULT_FRACTIONS): SplitFractions {
  const val = Math.round(f.val * n);
  const test = Math.round(f.test * n);
  return { train: n - val - test, val, test };
}

/**
 * Splits per class: the class's images (sorted by path) are grouped by content hash, the groups
 * shuffled with a generator forked from `seed` and the class name (so adding a class does not
 * reshuffle the others), then dealt out: val until it holds n_val images, then test until it
 * holds n_test, then train. A group of identical files always lands in one split and counts as
 * its size, so without duplicates the counts are exactly `splitCounts`; a duplicate group may
 * overshoot val or test by its size minus one.
 *
 * A file whose copy also lies in another class follows the split chosen for the copy in the
 * first class (by sorted name) that holds it, so no content is in two splits; it counts for the
 * class of its folder. A class whose counts leave a split empty is an error naming the class.
 */
export function stratifiedSplit(
  images: readonly ImageEntry[],
  classNames: readonly string[],
  seed: number,
  fractions: SplitFractions = DEFAULT_FRACTIONS,
): SplitItem[] {
  validateFractions(fractions);
  check(Number.isInteger(seed), 'seed', `expected an integer, got ${seed}`);
  const owner = new Map<string, string>(); // hash -> first class (sorted) that holds it
  for (const cls of classNames)
    for (const im of images) if (im.class === cls && !owner.has(im.hash)) owner.set(im.hash, cls);
  const assigned = new Map<string, SplitName>(); // hash -> split
  const base = new Rng(seed);

  for (const cls of classNames) {
    const own = images
      .filter((im) => im.class === cls && owner.get(im.hash) === cls)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const groups = new Map<string, number>();
    for (const im of own) groups.set(im.hash, (groups.get(im.hash) ?? 0) + 1);
    const n = own.length;
    const want = splitCounts(n, fractions);
    if (want.train < 1 || want.val < 1 || want.test < 1)
      throw new ArtstyleError(
        'class-too-small',
        `class ${cls} has ${n} image(s); the ${fractions.train}/${fractions.val}/${fractions.test} split ` +
          `gives train ${want.train}, val ${want.val}, test ${want.test}, but every split needs at least one`,
        cls,
      );
    const order = base.fork(`split:${cls}`).shuffle([...groups.keys()]);
    const have = { train: 0, val: 0, test: 0 };
    for (const hash of order) {
      const size = groups.get(hash) ?? 0;
      const split: SplitName =
        have.val < want.val ? 'val' : have.test < want.test ? 'test' : 'train';
      have[split] += size;
      assigned.set(hash, split);
    }
    if (have.train < 1 || have.val < 1 || have.test < 1)
      throw new ArtstyleError(
        'class-too-small',
        `class ${cls}: its ${n} images form only ${groups.size} distinct contents; with duplicates kept ` +
          `together the split gives train ${have.train}, val ${have.val}, test ${have.test}`,
        cls,
      );
  }
  return images
    .map((im) => ({ ...im, split: assigned.get(im.hash) as SplitName }))
    .sort((a, b) =>
      a.class !== b.class
        ? a.class < b.class
          ? -1
          : 1
        : a.path < b.path
          ? -1
          : a.path > b.path
            ? 1
            : 0,
    );
}
