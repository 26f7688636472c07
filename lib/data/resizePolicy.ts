import sharp from 'sharp';
import { ArtstyleError } from '../util/errors';

/**
 * How a source image becomes a size x size RGB array (the policy the on-disk cache is keyed on;
 * bump RESIZE_POLICY_VERSION whenever any step below changes so that old cache files are rebuilt):
 *
 * 1. Decode by content, never by extension (a PNG named `.jpg` is fine). Images larger than
 *    `limitInputPixels` (default 100 megapixels) are refused before their pixels are decoded,
 *    so a decompression bomb cannot exhaust memory. A truncated or corrupt file is an error
 *    (`failOn: 'error'`), not a half-grey image; mere warnings (stray bytes between JPEG
 *    markers, common in scraped files and ignored by the PIL loader Keras uses) are tolerated.
 * 2. Apply the EXIF orientation, so a phone photo stored sideways is seen upright.
 * 3. Flatten any alpha channel onto white: scraped artwork with transparency is almost always a
 *    cut-out shown on a white page, and white is what a viewer saw.
 * 4. Convert to sRGB with exactly 3 channels (greyscale is replicated, CMYK is converted with
 *    its profile), 8 bits per channel.
 * 5. Resize the whole image to size x size, ignoring the aspect ratio. This is what Keras's
 *    `load_img(path, target_size=(299, 299))` and `flow_from_directory` do, which the study
 *    follows: no part of the sculpture is cropped away, at the price of some stretching, and the
 *    numbers stay comparable with the published ones.
 * 6. The kernel is Lanczos-3 (`lanczos3`): most images shrink from 400-2000 px to 299 px, and
 *    Lanczos keeps detail without the aliasing a plain bilinear shrink shows at those ratios.
 *    `bilinear` (Keras's default `interpolation='nearest'` is worse still) is offered for speed.
 */
export const RESIZE_POLICY_VERSION = 1;

export type ResizeKernel = 'lanczos3' | 'linear';

export interface ResizeOptions {
  /** Output height and width in pixels. */
  size: number;
  /** Refuse images with more pixels than this (default 100 million). */
  limitInputPixels?: number | undefined;
  kernel?: ResizeKernel | undefined;
}

export const DEFAULT_LIMIT_INPUT_PIXELS = 100_000_000;

/** Why a file could not be used, as shown in the table of skipped files. */
export type SkipReason = 'empty-file' | 'not-an-image' | 'corrupt-or-truncated' | 'too-large';

export class ImageDecodeError extends ArtstyleError {
  readonly reason: SkipReason;
  constructor(reason: SkipReason, message: string, subject?: string) {
    super(`image-${reason}`, message, subject);
    this.reason = reason;
  }
}

let decodeCount = 0;

/** How many images this process has decoded so far (lets tests prove that a cache was used). */
export function decodeCounter(): number {
  return decodeCount;
}

/** A tag for the cache key: every option that changes the pixels. */
export function policyTag(opts: ResizeOptions): string {
  return `p${RESIZE_POLICY_VERSION}-${opts.kernel ?? 'lanczos3'}`;
}

function classify(e: unknown, limit: number): ImageDecodeError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/exceeds pixel limit/i.test(msg))
    return new ImageDecodeError(
      'too-large',
      `image has more than ${limit} pixels (limitInputPixels); refused as a possible decompression bomb`,
    );
  if (/empty/i.test(msg)) return new ImageDecodeError('empty-file', 'file is empty (0 bytes)');
  if (/unsupported image format/i.test(msg))
    return new ImageDecodeError('not-an-image', 'content is not a supported image format');
  return new ImageDecodeError(
    'corrupt-or-truncated',
    `image is corrupt or truncated: ${msg.split('\n')[0]}`,
  );
}

/**
 * Decodes `data` and resizes it under the policy above. Returns size*size*3 bytes, RGB,
 * row-major. Throws ImageDecodeError (with a SkipReason) for files that cannot be used.
 */
export async function decodeAndResize(data: Uint8Array, opts: ResizeOptions): Promise<Uint8Array> {
  const limit = opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  if (data.length === 0) throw new ImageDecodeError('empty-file', 'file is empty (0 bytes)');
  decodeCount++;
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(data, { limitInputPixels: limit, failOn: 'error' })
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .resize(opts.size, opts.size, { fit: 'fill', kernel: opts.kernel ?? 'lanczos3' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw classify(e, limit);
  }
  const { width, height, channels } = out.info;
  if (width !== opts.size || height !== opts.size || channels !== 3) {
    throw new ImageDecodeError(
      'corrupt-or-truncated',
      `decoded to ${width}x${height}x${channels}, expected ${opts.size}x${opts.size}x3`,
    );
  }
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
}
