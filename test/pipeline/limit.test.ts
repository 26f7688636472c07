import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest } from '../../lib/data/manifest';
import { limitPerClass } from '../../lib/pipeline/study1';

function manifest(perClass: Record<string, [number, number, number]>): Manifest {
  const items: Manifest['items'] = [];
  for (const [cls, counts] of Object.entries(perClass)) {
    (['train', 'val', 'test'] as const).forEach((split, s) => {
      for (let i = 0; i < counts[s]; i++)
        items.push({
          path: `${cls}/${split}-${i}.jpg`,
          class: cls,
          split,
          hash: `${cls}${split}${i}`,
        });
    });
  }
  return {
    formatVersion: 1,
    root: '/data',
    seed: 1,
    fractions: { train: 0.6, val: 0.2, test: 0.2 },
    classNames: Object.keys(perClass),
    inputsDigest: '',
    items,
  };
}

describe('limitPerClass', () => {
  it('caps each class by the split rule, keeping validation and test images', () => {
    const m = limitPerClass(manifest({ Big: [30, 10, 10], Small: [3, 1, 1] }), 10, 7);
    const count = (cls: string, split: string): number =>
      m.items.filter((it) => it.class === cls && it.split === split).length;
    assert.deepEqual([count('Big', 'train'), count('Big', 'val'), count('Big', 'test')], [6, 2, 2]);
    assert.deepEqual(
      [count('Small', 'train'), count('Small', 'val'), count('Small', 'test')],
      [3, 1, 1],
    );
  });

  it('is seeded: the same seed keeps the same images, another seed others', () => {
    const m = manifest({ Big: [30, 10, 10] });
    const kept = (seed: number): string[] => limitPerClass(m, 10, seed).items.map((it) => it.path);
    assert.deepEqual(kept(3), kept(3));
    assert.notDeepEqual(kept(3), kept(4));
  });

  it('null keeps everything', () => {
    const m = manifest({ A: [3, 1, 1] });
    assert.equal(limitPerClass(m, null, 1), m);
  });
});
