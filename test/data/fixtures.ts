import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { tempDir as exitTempDir } from '../tmp';

/** A fresh folder under the system temp dir, removed by the returned cleanup or at exit. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = exitTempDir(`artstyle-${label}-`);
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A small JPEG whose colours depend on `shade` (different shades, different content), with a
 * horizontal gradient and a dark left edge so that flips and zooms change its pixels.
 */
export async function jpeg(shade: number, width = 40, height = 30): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const edge = x < width / 4 ? 0 : 1;
      raw.set(
        [edge * (shade % 256), edge * ((shade * 7 + y * 3) % 256), Math.round((255 * x) / width)],
        (y * width + x) * 3,
      );
    }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function png(shade: number, width = 40, height = 30, alpha = 1): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 4, background: { r: shade % 256, g: 40, b: 200, alpha } },
  })
    .png()
    .toBuffer();
}

export function write(file: string, data: Uint8Array | string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
}

/** Writes `count` distinct JPEGs into root/cls/, named img000.jpg... */
export async function writeClass(
  root: string,
  cls: string,
  count: number,
  shadeBase: number,
): Promise<void> {
  for (let i = 0; i < count; i++)
    write(
      path.join(root, cls, `img${String(i).padStart(3, '0')}.jpg`),
      await jpeg(shadeBase + i * 3),
    );
}
