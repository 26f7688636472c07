import { check } from '../util/errors';
import { Rng } from '../util/rng';
import { cacheFile, readCachedImage } from './imageCache';
import type { Manifest } from './manifest';
import { ResizeKernel, policyTag } from './resizePolicy';
import { rgbToPng } from './rgbImage';

export interface SampleThumbnail {
  path: string;
  split: string;
  png: Buffer;
}

export interface SampleGridRow {
  class: string;
  samples: SampleThumbnail[];
}

/**
 * A few images of each class as PNG thumbnails, read from the resized cache (so the grid shows
 * exactly what the model sees). Which images are shown is seeded; a class with fewer images than
 * `perClass` shows all of them.
 */
export async function sampleGrid(
  manifest: Manifest,
  cacheDir: string,
  perClass: number,
  seed: number,
  opts: { imageSize?: number; thumbnailSize?: number; kernel?: ResizeKernel } = {},
): Promise<SampleGridRow[]> {
  check(
    Number.isInteger(perClass) && perClass >= 1,
    'perClass',
    `expected an integer >= 1, got ${perClass}`,
  );
  const size = opts.imageSize ?? 299;
  const tag = policyTag({ size, kernel: opts.kernel });
  const rng = new Rng(seed).fork('sampleGrid');
  const rows: SampleGridRow[] = [];
  for (const cls of manifest.classNames) {
    const items = rng.shuffle(manifest.items.filter((it) => it.class === cls)).slice(0, perClass);
    const samples: SampleThumbnail[] = [];
    for (const it of items) {
      const img = await readCachedImage(cacheFile(cacheDir, it.hash, size, tag), size);
      const png = await rgbToPng(
        { height: size, width: size, data: img.data },
        opts.thumbnailSize ?? 128,
      );
      samples.push({ path: it.path, split: it.split, png });
    }
    rows.push({ class: cls, samples });
  }
  return rows;
}
