import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSourceTask, SOURCE_CLASSES } from '../../../lib/data/synth/source-task';
import { ArtstyleError } from '../../../lib/util/errors';

describe('source task for pretraining the stand-in bases', () => {
  it('returns NHWC images in 0..255 with balanced labels over the texture classes', () => {
    const t = generateSourceTask({ seed: 3, count: 40, size: 24 });
    assert.equal(t.images.length, 40 * 24 * 24 * 3);
    assert.equal(t.labels.length, 40);
    assert.deepEqual(t.classNames, [...SOURCE_CLASSES]);
    assert.ok(t.classNames.length >= 8);
    const perClass = new Array<number>(t.classNames.length).fill(0);
    for (const l of t.labels) perClass[l] = (perClass[l] as number) + 1;
    assert.ok(
      perClass.every((c) => c === 4),
      perClass.join(','),
    );
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of t.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= 0 && hi <= 255 && hi - lo > 100, `range ${lo}..${hi}`);
    // Not every label in index order: the class of an image must be learnt, not counted.
    assert.ok([...t.labels].some((l, i) => l !== i % t.classNames.length));
  });

  it('is deterministic in the seed and differs across seeds', () => {
    const a = generateSourceTask({ seed: 5, count: 12, size: 16 });
    const b = generateSourceTask({ seed: 5, count: 12, size: 16 });
    const c = generateSourceTask({ seed: 6, count: 12, size: 16 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
    assert.notDeepEqual(a.images, c.images);
  });

  it('images of one class vary: no two are identical', () => {
    const t = generateSourceTask({ seed: 1, count: 20, size: 16 });
    const n = 16 * 16 * 3;
    const key = (i: number): string => Array.from(t.images.subarray(i * n, (i + 1) * n)).join(',');
    assert.equal(new Set(Array.from({ length: 20 }, (_, i) => key(i))).size, 20);
  });

  it('names the bad argument', () => {
    assert.throws(
      () => generateSourceTask({ seed: 1, count: 0, size: 16 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'count',
    );
    assert.throws(
      () => generateSourceTask({ seed: 1, count: 4, size: 4 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'size',
    );
  });
});
