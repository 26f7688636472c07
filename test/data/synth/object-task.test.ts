import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateObjectTask,
  OBJECT_ATTRIBUTE_NAMES,
  OBJECT_CLASSES,
  OBJECT_HEADS,
  sampleNeutralScene,
} from '../../../lib/data/synth/object-task';
import { sampleScene, SCULPTURE_STYLES } from '../../../lib/data/synth/sculpture-styles';
import { ArtstyleError } from '../../../lib/util/errors';
import { Rng } from '../../../lib/util/rng';

describe('object source task for pretraining the Xception base', () => {
  it('returns NHWC images in 0..255, a label per head in range and attributes in [0, 1]', () => {
    const t = generateObjectTask({ seed: 3, count: 6, size: 24 });
    assert.equal(t.images.length, 6 * 24 * 24 * 3);
    for (const h of OBJECT_HEADS) {
      assert.equal(t.labels[h].length, 6);
      for (const l of t.labels[h]) assert.ok(l >= 0 && l < OBJECT_CLASSES[h].length, `${h} ${l}`);
    }
    assert.equal(t.attributes.length, 6 * OBJECT_ATTRIBUTE_NAMES.length);
    for (const v of t.attributes) assert.ok(v >= 0 && v <= 1, `attribute ${v}`);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of t.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= 0 && hi <= 255 && hi - lo > 60, `range ${lo}..${hi}`);
  });

  it('is deterministic in the seed and differs across seeds', () => {
    const a = generateObjectTask({ seed: 5, count: 3, size: 16 });
    const b = generateObjectTask({ seed: 5, count: 3, size: 16 });
    const c = generateObjectTask({ seed: 6, count: 3, size: 16 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
    assert.notDeepEqual(a.images, c.images);
  });

  it('follows no style: choices are uniform, unlike any style', () => {
    const rng = new Rng(9);
    const n = 3000;
    const geometric = { neutral: 0, styles: [] as number[] };
    for (let i = 0; i < n; i++)
      if (sampleNeutralScene(rng.fork(`n${i}`)).subject === 'geometric') geometric.neutral++;
    // Uniform over 6 subjects: about 500 of 3000 (binomial sd about 20).
    assert.ok(Math.abs(geometric.neutral - n / 6) < 100, `${geometric.neutral} geometric`);
    assert.equal(sampleNeutralScene(rng).style, null);
    // Minimalism is almost all geometric, the figure styles almost never: no style looks uniform.
    for (const style of SCULPTURE_STYLES) {
      let g = 0;
      for (let i = 0; i < 600; i++)
        if (sampleScene(style, rng.fork(`${style}${i}`)).subject === 'geometric') g++;
      geometric.styles.push(g / 600);
    }
    assert.ok(
      geometric.styles.every((f) => Math.abs(f - 1 / 6) > 0.1),
      geometric.styles.join(' '),
    );
  });

  it('names the bad argument', () => {
    assert.throws(
      () => generateObjectTask({ seed: 1, count: 0, size: 16 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'count',
    );
    assert.throws(
      () => generateObjectTask({ seed: 1, count: 2, size: 8 }),
      (e: unknown) => e instanceof ArtstyleError && e.subject === 'size',
    );
  });
});
