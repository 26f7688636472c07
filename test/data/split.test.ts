import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageEntry } from '../../lib/data/imageFolder';
import { splitCounts, stratifiedSplit, validateFractions } from '../../lib/data/split';
import { sha256 } from '../../lib/util/fs';
import { ArtstyleError } from '../../lib/util/errors';

function entries(cls: string, n: number, content = (i: number) => `${cls}-${i}`): ImageEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    path: `${cls}/img${String(i).padStart(4, '0')}.jpg`,
    class: cls,
    hash: sha256(content(i)),
    bytes: 100,
  }));
}

const tally = (items: { class: string; split: string }[], cls: string) => {
  const t = { train: 0, val: 0, test: 0 };
  for (const it of items) if (it.class === cls) t[it.split as 'train']++;
  return t;
};

describe('splitCounts (the rounding rule)', () => {
  it('gives val = round(0.2n), test = round(0.2n), train = the rest', () => {
    const cases: [number, [number, number, number]][] = [
      [3, [1, 1, 1]],
      [4, [2, 1, 1]],
      [5, [3, 1, 1]],
      [7, [5, 1, 1]],
      [8, [4, 2, 2]], // 1.6 rounds to 2
      [10, [6, 2, 2]],
      [12, [8, 2, 2]], // 2.4 rounds to 2
      [13, [7, 3, 3]], // 2.6 rounds to 3
      [2, [2, 0, 0]],
      [402, [242, 80, 80]],
    ];
    for (const [n, [tr, va, te]] of cases)
      assert.deepEqual(splitCounts(n), { train: tr, val: va, test: te }, `n=${n}`);
    // Halves round up.
    assert.deepEqual(splitCounts(10, { train: 0.5, val: 0.25, test: 0.25 }), {
      train: 4,
      val: 3,
      test: 3,
    });
  });
});

describe('stratifiedSplit', () => {
  const images = [...entries('Baroque', 23), ...entries('Minimalism', 10), ...entries('Rococo', 3)];
  const classes = ['Baroque', 'Minimalism', 'Rococo'];

  it('puts exactly the documented counts of each class in each split', () => {
    const items = stratifiedSplit(images, classes, 42);
    assert.equal(items.length, images.length);
    for (const [cls, n] of [
      ['Baroque', 23],
      ['Minimalism', 10],
      ['Rococo', 3],
    ] as const)
      assert.deepEqual(tally(items, cls), splitCounts(n), cls);
    assert.deepEqual(tally(items, 'Baroque'), { train: 13, val: 5, test: 5 });
  });

  it('is the same for the same seed, different for another, and does not depend on input order', () => {
    const a = stratifiedSplit(images, classes, 7);
    const b = stratifiedSplit([...images].reverse(), classes, 7);
    assert.deepEqual(a, b);
    const c = stratifiedSplit(images, classes, 8);
    assert.notDeepEqual(
      a.map((x) => x.split),
      c.map((x) => x.split),
    );
  });

  it('keeps identical files together and never puts one content in two splits', () => {
    // 12 files, but files 0-3 are one content and 4-5 another: 8 distinct contents.
    const dup = entries('Surrealism', 12, (i) => (i < 4 ? 'same-a' : i < 6 ? 'same-b' : `s-${i}`));
    for (let seed = 0; seed < 20; seed++) {
      const items = stratifiedSplit(dup, ['Surrealism'], seed);
      const splitOf = new Map<string, Set<string>>();
      for (const it of items)
        splitOf.set(it.hash, (splitOf.get(it.hash) ?? new Set()).add(it.split));
      for (const [h, s] of splitOf) assert.equal(s.size, 1, `hash ${h} in ${[...s]}`);
      const t = tally(items, 'Surrealism');
      // Targets for 12: val 2, test 2; a group may overshoot by its size minus one.
      assert.ok(t.val >= 2 && t.val <= 2 + 3 && t.test >= 2 && t.test <= 2 + 3, JSON.stringify(t));
      assert.equal(t.train + t.val + t.test, 12);
    }
  });

  it('sends a copy in another class to the split of its first class', () => {
    const a = entries('A', 10);
    const b = entries('B', 10);
    b[0] = { ...b[0]!, hash: a[3]!.hash };
    const items = stratifiedSplit([...a, ...b], ['A', 'B'], 3);
    const splits = items.filter((it) => it.hash === a[3]!.hash).map((it) => it.split);
    assert.equal(splits.length, 2);
    assert.equal(splits[0], splits[1]);
    assert.deepEqual(tally(items, 'A'), splitCounts(10));
    const tb = tally(items, 'B');
    assert.equal(tb.train + tb.val + tb.test, 10);
  });

  it('names a class too small for one image per split', () => {
    assert.throws(
      () => stratifiedSplit([...entries('Big', 10), ...entries('Tiny', 2)], ['Big', 'Tiny'], 1),
      (e: unknown) =>
        e instanceof ArtstyleError &&
        e.code === 'class-too-small' &&
        e.subject === 'Tiny' &&
        /class Tiny has 2/.test(e.message),
    );
    assert.throws(
      () => stratifiedSplit(entries('One', 1), ['One'], 1),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'One',
    );
    // Five files but only two distinct contents: cannot fill three splits.
    assert.throws(
      () =>
        stratifiedSplit(
          entries('Dup', 5, (i) => (i < 4 ? 'x' : 'y')),
          ['Dup'],
          1,
        ),
      (e: unknown) =>
        e instanceof ArtstyleError && e.subject === 'Dup' && /2 distinct contents/.test(e.message),
    );
  });

  it('validates the fractions, naming the key', () => {
    assert.throws(
      () => validateFractions({ train: 0.6, val: 0.2, test: 0.3 }),
      /must be 1, got 1.1/,
    );
    assert.throws(
      () => validateFractions({ train: 0.8, val: 0.2, test: 0 }),
      /fractions.test: expected a number in \(0, 1\)/,
    );
    assert.throws(
      () => validateFractions({ train: 1.2, val: -0.1, test: -0.1 }),
      /fractions.train/,
    );
    assert.throws(
      () => validateFractions({ train: 0.6, val: 0.2, test: 0.2, extra: 0 } as never),
      /fractions.extra: unknown key/,
    );
    assert.throws(() => stratifiedSplit(images, classes, 1.5), /seed/);
    validateFractions({ train: 0.7, val: 0.15, test: 0.15 });
  });
});
