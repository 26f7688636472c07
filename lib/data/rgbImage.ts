import sharp from 'sharp';
import { check } from '../util/errors';

/** A plain RGB image: height*width*3 values, row-major. */
export interface RgbImage {
  height: number;
  width: number;
  data: Uint8Array;
}

/** Rounds and clamps float RGB (0..255) to bytes, for display. */
export function floatToRgb(data: Float32Array, height: number, width: number): RgbImage {
  check(
    data.length === height * width * 3,
    'data',
    `expected ${height * width * 3} values, got ${data.length}`,
  );
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++)
    out[i] = Math.max(0, Math.min(255, Math.round(data[i] as number)));
  return { height, width, data: out };
}

/** Encodes an RGB image as PNG, optionally scaled to fit `maxSide` (for thumbnails). */
export async function rgbToPng(img: RgbImage, maxSide?: number): Promise<Buffer> {
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (maxSide !== undefined && Math.max(img.width, img.height) > maxSide)
    s = s.resize(maxSide, maxSide, { fit: 'inside', kernel: 'lanczos3' });
  return s.png().toBuffer();
}
