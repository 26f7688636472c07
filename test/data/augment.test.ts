import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_AUGMENT,
  applyAugment,
  augmentImage,
  augmentPreview,
  augmentRng,
  randomAugmentParams,
  validateAugmentOptions,
} from '../../lib/data/augment';

/** An image whose value at (x, y) is x + 100*y in every channel: easy to read coordinates back. */
function ramp(h: number, w: number): Float32Array {
  const a = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) a.fill(x + 100 * y, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return a;
}
const at = (a: Float32Array, w: number, x: number, y: number) => a[(y * w + x) * 3]!;
const id = { shearDegrees: 0, zx: 1, zy: 1, flip: false };

describe('augmentation (Keras ImageDataGenerator semantics)', () => {
  it('the identity transform returns the image exactly', () => {
    const img = ramp(7, 9);
    assert.deepEqual(applyAugment(img, 7, 9, id), img);
  });

  it('flips horizontally', () => {
    const out = applyAugment(ramp(4, 5), 4, 5, { ...id, flip: true });
    assert.equal(at(out, 5, 0, 2), 4 + 200);
    assert.equal(at(out, 5, 4, 2), 0 + 200);
  });

  it('zoom > 1 samples a larger area (content shrinks), bilinear, edges filled by nearest', () => {
    // Width 5, centre x = 2: zx = 2 reads x_in = 2*(x-2)+2, so x=1 -> 0, x=0 -> -2 -> clamped to 0.
    const out = applyAugment(ramp(5, 5), 5, 5, { ...id, zx: 2 });
    assert.equal(at(out, 5, 1, 0), 0);
    assert.equal(at(out, 5, 0, 0), 0);
    assert.equal(at(out, 5, 3, 0), 4);
    // zx = 0.5 (zoom in) reads x_in = 0.5*(x-2)+2: x=1 -> 1.5, halfway between 1 and 2.
    const zin = applyAugment(ramp(5, 5), 5, 5, { ...id, zx: 0.5 });
    assert.equal(at(zin, 5, 1, 3), 1.5 + 300);
    // zy acts on rows only.
    const zy = applyAugment(ramp(5, 5), 5, 5, { ...id, zy: 0.5 });
    assert.equal(at(zy, 5, 1, 1), 1 + 150);
  });

  it('shear moves columns in proportion to the row, by the angle in degrees', () => {
    const deg = 10;
    const out = applyAugment(ramp(9, 9), 9, 9, { ...id, shearDegrees: deg });
    const s = Math.sin((deg * Math.PI) / 180);
    const c = Math.cos((deg * Math.PI) / 180);
    // Row 8 is 4 below the centre: x_in = x - sin*4, y_in = cos*4 + 4.
    const xin = 4 - s * 4;
    const yin = c * 4 + 4;
    assert.ok(Math.abs(at(out, 9, 4, 8) - (xin + 100 * yin)) < 1e-3);
    assert.equal(at(out, 9, 4, 4), 4 + 400); // the centre does not move
  });

  it('draws parameters in the documented ranges, flips about half the time', () => {
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const p = randomAugmentParams(DEFAULT_AUGMENT, augmentRng(1, 0, i));
      assert.ok(Math.abs(p.shearDegrees) <= 0.2);
      assert.ok(p.zx >= 0.8 && p.zx < 1.2 && p.zy >= 0.8 && p.zy < 1.2);
      if (p.flip) flips++;
    }
    assert.ok(flips > 900 && flips < 1100, String(flips));
    const none = randomAugmentParams(
      { shearRange: 0, zoomRange: 0, horizontalFlip: false },
      augmentRng(1, 0, 0),
    );
    assert.deepEqual(none, id);
    const pair = randomAugmentParams(
      { shearRange: 0, zoomRange: [1.5, 1.5], horizontalFlip: false },
      augmentRng(1, 0, 0),
    );
    assert.deepEqual([pair.zx, pair.zy], [1.5, 1.5]);
  });

  it('is seeded by (seed, epoch, index)', () => {
    const img = ramp(6, 6);
    const a = augmentImage(img, 6, 6, DEFAULT_AUGMENT, 3, 2, 17);
    const b = augmentImage(img, 6, 6, DEFAULT_AUGMENT, 3, 2, 17);
    assert.deepEqual(a, b);
    for (const [s, e, i] of [
      [4, 2, 17],
      [3, 3, 17],
      [3, 2, 18],
    ] as const)
      assert.notDeepEqual(randomAugmentParams(DEFAULT_AUGMENT, augmentRng(s, e, i)), a.params);
  });

  it('preview returns k augmented copies as plain RGB', () => {
    const src = { height: 6, width: 8, data: Uint8Array.from(ramp(6, 8), (v) => v % 256) };
    const views = augmentPreview(
      src,
      4,
      { shearRange: 20, zoomRange: 0.3, horizontalFlip: true },
      5,
    );
    assert.equal(views.length, 4);
    for (const v of views) {
      assert.equal(v.image.data.length, 6 * 8 * 3);
      assert.ok(v.image.data instanceof Uint8Array);
    }
    assert.notDeepEqual(views[0]!.params, views[1]!.params);
  });

  it('validates options, naming the key', () => {
    assert.throws(
      () => validateAugmentOptions({ ...DEFAULT_AUGMENT, shearRange: -1 }),
      /augment.shearRange/,
    );
    assert.throws(
      () => validateAugmentOptions({ ...DEFAULT_AUGMENT, zoomRange: 1.5 }),
      /augment.zoomRange/,
    );
    assert.throws(
      () => validateAugmentOptions({ ...DEFAULT_AUGMENT, zoomRange: [1.2, 0.8] }),
      /augment.zoomRange/,
    );
    assert.throws(
      () => validateAugmentOptions({ ...DEFAULT_AUGMENT, rotation: 5 } as never),
      /augment.rotation: unknown key/,
    );
  });
});
