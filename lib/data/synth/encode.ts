import sharp from 'sharp';

/**
 * The ways a scraped image file can be stored. Each is a valid image except where noted; a data
 * loader must treat all of them the same once decoded.
 */
export type FileVariant =
  | 'jpeg'
  | 'png'
  | 'jpeg-gray'
  | 'png-gray'
  | 'png-alpha'
  | 'jpeg-cmyk'
  | 'jpeg-exif';

export interface EncodeRequest {
  /** Interleaved RGB bytes at the render size. */
  rgb: Buffer;
  /** Coverage (0..1) per pixel at the render size; required for `png-alpha`. */
  alpha?: Float32Array;
  width: number;
  height: number;
  /** Size of the stored (upright) image. */
  outWidth: number;
  outHeight: number;
  variant: FileVariant;
  quality: number;
  /** EXIF orientation for `jpeg-exif`: 3, 6 or 8. */
  orientation?: 3 | 6 | 8 | undefined;
}

/** Clockwise rotation that stores pixels so that applying the EXIF orientation shows them upright. */
const STORE_ROTATION: Record<3 | 6 | 8, number> = { 3: 180, 6: 270, 8: 90 };

/**
 * Encodes one rendered image as a file of the requested variant. Resizing happens first, in its
 * own pipeline, because sharp would otherwise rotate before resizing. Encoders are called with
 * fixed options and no metadata beyond what the variant needs, so output bytes depend only on the
 * input pixels (checked by the determinism test).
 */
export async function encodeImage(req: EncodeRequest): Promise<Buffer> {
  const channels = req.variant === 'png-alpha' ? 4 : 3;
  let input = req.rgb;
  if (channels === 4) {
    const a = req.alpha;
    if (!a) throw new Error('png-alpha needs coverage');
    input = Buffer.alloc(req.width * req.height * 4);
    for (let p = 0; p < req.width * req.height; p++) {
      input[p * 4] = req.rgb[p * 3] as number;
      input[p * 4 + 1] = req.rgb[p * 3 + 1] as number;
      input[p * 4 + 2] = req.rgb[p * 3 + 2] as number;
      input[p * 4 + 3] = Math.round(Math.min(1, Math.max(0, a[p] as number)) * 255);
    }
  }
  const resized = await sharp(input, { raw: { width: req.width, height: req.height, channels } })
    .resize(req.outWidth, req.outHeight, { fit: 'fill' })
    .raw()
    .toBuffer();
  const img = sharp(resized, { raw: { width: req.outWidth, height: req.outHeight, channels } });
  const jpeg = { quality: req.quality, chromaSubsampling: '4:2:0' };
  switch (req.variant) {
    case 'jpeg':
      return img.jpeg(jpeg).toBuffer();
    case 'png':
    case 'png-alpha':
      return img.png({ compressionLevel: 6 }).toBuffer();
    case 'jpeg-gray':
      return img.toColourspace('b-w').jpeg(jpeg).toBuffer();
    case 'png-gray':
      return img.toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
    case 'jpeg-cmyk':
      return img.toColourspace('cmyk').jpeg(jpeg).toBuffer();
    case 'jpeg-exif': {
      const o = req.orientation ?? 6;
      return img.rotate(STORE_ROTATION[o]).withMetadata({ orientation: o }).jpeg(jpeg).toBuffer();
    }
  }
}
