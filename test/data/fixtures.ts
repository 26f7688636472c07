import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';

/** A fresh folder under the system temp dir, removed by the returned cleanup. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `artstyle-${label}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A small JPEG whose colour depends on `shade`, so different shades give different content. */
export async function jpeg(shade: number, width = 40, height = 30): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: { r: shade % 256, g: (shade * 7) % 256, b: 90 } },
  })
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
export async function writeClass(root: string, cls: string, count: number, shadeBase: number): Promise<void> {
  for (let i = 0; i < count; i++)
    write(path.join(root, cls, `img${String(i).padStart(3, '0')}.jpg`), await jpeg(shadeBase + i * 3));
}
