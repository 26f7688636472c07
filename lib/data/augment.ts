import { check } from '../util/errors';
import { Rng } from '../util/rng';
import { RgbImage, floatToRgb } from './rgbImage';

/**
 * Random training-time transforms with the meaning of Keras's
 * `ImageDataGenerator(shear_range=s, zoom_range=z, horizontal_flip=True, fill_mode='nearest')`:
 * - shear: an angle drawn uniformly from [-s, s] DEGREES (Keras >= 2 reads shear_range in degrees,
 *   so the tutorial's 0.2 is a very slight shear; we keep the meaning, not a guess at the intent);
 * - zoom: zx and zy drawn independently and uniformly from [1 - z, 1 + z] (or [lo, hi] when a pair
 *   is given). As in Keras, a factor above 1 samples a larger area, so the content looks smaller;
 * - horizontal flip with probability 0.5, applied after the affine part;
 * - points that fall outside the image take the nearest edge pixel (`fill_mode='nearest'`),
 *   with bilinear interpolation (Keras's `interpolation_order=1`).
 *
 * The output pixel at column x, row y (measured from the image centre) reads the input at
 *   x_in = zx * x - sin(shear) * zy * y,   y_in = cos(shear) * zy * y,
 * the matrix Keras builds as shear @ zoom. Keras centres on (n/2 + 0.5); we centre on the
 * middle of the pixel grid, (n - 1)/2, so that an identity transform returns the image exactly.
 *
 * Plain TypeScript on Float32Array, independent of any TensorFlow.js backend. Every random draw is
 * seeded by (seed, epoch, image index), so an interrupted run resumed at an epoch sees exactly the
 * images it would have seen.
 */
export interface AugmentOptions {
  /** Maximum shear angle in degrees (Keras `shear_range`). */
  shearRange: number;
  /** Keras `zoom_range`: z means [1 - z, 1 + z]; a pair is [lower, upper]. */
  zoomRange: number | [number, number];
  /** Keras `horizontal_flip`. */
  horizontalFlip: boolean;
}

/** The study's augmentation: shear 0.2, zoom 0.2, horizontal flip (the Keras tutorial's values). */
export const DEFAULT_AUGMENT: AugmentOptions = {
  shearRange: 0.2,
  zoomRange: 0.2,
  horizontalFlip: true,
};

export interface AugmentParams {
  shearDegrees: number;
  zx: number;
  zy: number;
  flip: boolean;
}

export function zoomBounds(opts: AugmentOptions): [number, number] {
  const z = opts.zoomRange;
  return typeof z === 'number' ? [1 - z, 1 + z] : [z[0], z[1]];
}

export function validateAugmentOptions(opts: AugmentOptions): void {
  check(
    typeof opts.shearRange === 'number' &&
      Number.isFinite(opts.shearRange) &&
      opts.shearRange >= 0 &&
      opts.shearRange < 90,
    'augment.shearRange',
    `expected degrees in [0, 90), got ${String(opts.shearRange)}`,
  );
  const z = opts.zoomRange;
  if (typeof z === 'number')
    check(
      Number.isFinite(z) && z >= 0 && z < 1,
      'augment.zoomRange',
      `expected a number in [0, 1), got ${z}`,
    );
  else
    check(
      Array.isArray(z) && z.length === 2 && z[0] > 0 && z[0] <= z[1] && Number.isFinite(z[1]),
      'augment.zoomRange',
      `expected [lower, upper] with 0 < lower <= upper, got ${JSON.stringify(z)}`,
    );
  check(
    typeof opts.horizontalFlip === 'boolean',
    'augment.horizontalFlip',
    'expected true or false',
  );
  const known = ['shearRange', 'zoomRange', 'horizontalFlip'];
  const extra = Object.keys(opts).filter((k) => !known.includes(k));
  check(
    extra.length === 0,
    `augment.${extra[0]}`,
    `unknown key; allowed keys are ${known.join(', ')}`,
  );
}

/** The generator for one image in one epoch: independent of batch size and visiting order. */
export function augmentRng(seed: number, epoch: number, index: number): Rng {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const v of [epoch, index]) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return new Rng(h | 0);
}

/** Draws one transform in Keras's order: shear, then zx and zy, then the flip. */
export function randomAugmentParams(opts: AugmentOptions, rng: Rng): AugmentParams {
  const shearDegrees = opts.shearRange > 0 ? rng.range(-opts.shearRange, opts.shearRange) : 0;
  const [lo, hi] = zoomBounds(opts);
  let zx = 1;
  let zy = 1;
  if (!(lo === 1 && hi === 1)) {
    zx = rng.range(lo, hi);
    zy = rng.range(lo, hi);
  }
  const flip = opts.horizontalFlip ? rng.uniform() < 0.5 : false;
  return { shearDegrees, zx, zy, flip };
}

/** Applies `p` to an HWC RGB image (any value range); writes into `out` when given. */
export function applyAugment(
  src: Float32Array | Uint8Array,
  height: number,
  width: number,
  p: AugmentParams,
  out: Float32Array = new Float32Array(height * width * 3),
): Float32Array {
  check(
    src.length === height * width * 3,
    'src',
    `expected ${height * width * 3} values, got ${src.length}`,
  );
  check(out.length === src.length, 'out', `expected ${src.length} values, got ${out.length}`);
  const s = (p.shearDegrees * Math.PI) / 180;
  const a = p.zx; // x_in from x
  const b = -Math.sin(s) * p.zy; // x_in from y
  const d = Math.cos(s) * p.zy; // y_in from y
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    const rowBase = y * width;
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      let xin = a * dx + b * dy + cx;
      let yin = d * dy + cy;
      // fill_mode 'nearest': a point outside the image reads the closest edge pixel.
      xin = xin < 0 ? 0 : xin > width - 1 ? width - 1 : xin;
      yin = yin < 0 ? 0 : yin > height - 1 ? height - 1 : yin;
      const x0 = Math.floor(xin);
      const y0 = Math.floor(yin);
      const x1 = x0 + 1 < width ? x0 + 1 : x0;
      const y1 = y0 + 1 < height ? y0 + 1 : y0;
      const fx = xin - x0;
      const fy = yin - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const i00 = (y0 * width + x0) * 3;
      const i01 = (y0 * width + x1) * 3;
      const i10 = (y1 * width + x0) * 3;
      const i11 = (y1 * width + x1) * 3;
      const ox = p.flip ? width - 1 - x : x;
      const o = (rowBase + ox) * 3;
      for (let c = 0; c < 3; c++) {
        out[o + c] =
          w00 * (src[i00 + c] as number) +
          w01 * (src[i01 + c] as number) +
          w10 * (src[i10 + c] as number) +
          w11 * (src[i11 + c] as number);
      }
    }
  }
  return out;
}

/** Augments one image as the batch source does for (seed, epoch, index). */
export function augmentImage(
  src: Float32Array | Uint8Array,
  height: number,
  width: number,
  opts: AugmentOptions,
  seed: number,
  epoch: number,
  index: number,
  out?: Float32Array,
): { data: Float32Array; params: AugmentParams } {
  const params = randomAugmentParams(opts, augmentRng(seed, epoch, index));
  return { data: applyAugment(src, height, width, params, out), params };
}

/** One image augmented `k` times (as in epochs 0..k-1), for the notebook's preview figure. */
export function augmentPreview(
  image: RgbImage,
  k: number,
  opts: AugmentOptions = DEFAULT_AUGMENT,
  seed = 0,
): { params: AugmentParams; image: RgbImage }[] {
  validateAugmentOptions(opts);
  check(Number.isInteger(k) && k >= 1, 'k', `expected an integer >= 1, got ${k}`);
  const views: { params: AugmentParams; image: RgbImage }[] = [];
  for (let epoch = 0; epoch < k; epoch++) {
    const r = augmentImage(image.data, image.height, image.width, opts, seed, epoch, 0);
    views.push({ params: r.params, image: floatToRgb(r.data, image.height, image.width) });
  }
  return views;
}
