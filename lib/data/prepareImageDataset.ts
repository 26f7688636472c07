import * as path from 'node:path';
import { check } from '../util/errors';
import { ImageFolder, scanImageFolder } from './imageFolder';
import { Manifest, prepareManifest } from './manifest';
import type { ResizeKernel } from './resizePolicy';
import { DEFAULT_FRACTIONS, SplitFractions } from './split';

export interface PrepareImageDatasetOptions {
  /** One folder per class. */
  root: string;
  /** Where resized images are cached (shared by runs and sizes). */
  cacheDir: string;
  /** Side of the square images: 299 for the full study, smaller for teaching. */
  imageSize: number;
  seed: number;
  /** Where the split is saved; default `<cacheDir>/manifest-seed<seed>.json`. */
  manifestFile?: string;
  fractions?: SplitFractions;
  kernel?: ResizeKernel;
  limitInputPixels?: number;
  concurrency?: number;
  progressLabel?: string | null;
  /** Stops cleanly at the next image (see ScanOptions.signal). */
  signal?: AbortSignal | null;
}

export interface PreparedImageDataset {
  folder: ImageFolder;
  manifest: Manifest;
  manifestFile: string;
  /** True when the saved split was reused unchanged. */
  reused: boolean;
  /** A corrupt manifest that was replaced, with the reason; null when none. */
  replacedCorrupt: string | null;
}

/**
 * The whole first step of the sculpture study in one call: scan and check every file, resize it
 * into the cache (each content decoded once; nothing already cached is redone), then split per
 * class and save (or reuse) the manifest. Safe to kill and run again.
 */
export async function prepareImageDataset(
  opts: PrepareImageDatasetOptions,
): Promise<PreparedImageDataset> {
  check(typeof opts.root === 'string' && opts.root.length > 0, 'root', 'expected a folder path');
  check(
    typeof opts.cacheDir === 'string' && opts.cacheDir.length > 0,
    'cacheDir',
    'expected a folder path',
  );
  const folder = await scanImageFolder(opts.root, {
    cache: { cacheDir: opts.cacheDir, imageSize: opts.imageSize, kernel: opts.kernel },
    limitInputPixels: opts.limitInputPixels,
    concurrency: opts.concurrency,
    signal: opts.signal,
    progressLabel:
      opts.progressLabel === undefined ? `resize to ${opts.imageSize}px` : opts.progressLabel,
  });
  const manifestFile =
    opts.manifestFile ?? path.join(opts.cacheDir, `manifest-seed${opts.seed}.json`);
  const { manifest, reused, replacedCorrupt } = prepareManifest(
    folder,
    manifestFile,
    opts.seed,
    opts.fractions ?? DEFAULT_FRACTIONS,
  );
  return { folder, manifest, manifestFile, reused, replacedCorrupt };
}
