import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError, check } from '../util/errors';
import { resolveInside, sha256 } from '../util/fs';
import { createProgress } from '../util/progress';
import {
  cacheFile,
  isCachedImageValid,
  writeCachedImage,
  writeFileAtomicChecked,
} from './imageCache';
import { mapPool } from './pool';
import {
  DEFAULT_LIMIT_INPUT_PIXELS,
  ImageDecodeError,
  ResizeKernel,
  SkipReason,
  decodeAndResize,
  policyTag,
} from './resizePolicy';

export interface ImageEntry {
  /** Relative to the data set's root, with `/` separators (stable across platforms). */
  path: string;
  class: string;
  /** sha256 of the file's bytes: the identity used for duplicates and the cache. */
  hash: string;
  bytes: number;
}

export interface SkippedFile {
  path: string;
  class: string;
  reason: SkipReason | 'outside-class-folder' | 'unreadable';
  message: string;
}

/** Files with identical content (same sha256). */
export interface DuplicateGroup {
  hash: string;
  paths: string[];
  /** Sorted class names of the copies; more than one means the same image carries two labels. */
  classes: string[];
}

export interface ScanStats {
  /** Images decoded by this call (0 on a run whose cache was complete). */
  decoded: number;
  /** Images whose valid cache entry (or recorded verdict) spared a decode. */
  fromCache: number;
  /** Cache files that were corrupt or foreign and were rebuilt. */
  rebuiltCorrupt: string[];
}

export interface ImageFolder {
  root: string;
  classNames: string[];
  images: ImageEntry[];
  skipped: SkippedFile[];
  duplicates: DuplicateGroup[];
  stats: ScanStats;
}

export interface ImageCacheOptions {
  cacheDir: string;
  /** Side of the square images (299 for the full study). */
  imageSize: number;
  kernel?: ResizeKernel | undefined;
}

export interface ScanOptions {
  /**
   * When given, the one decode of each file also writes its resized copy to the cache, and files
   * already cached (or already found unusable) are not decoded again. An image cached under a
   * higher `limitInputPixels` stays usable under a lower one: it was already decoded safely.
   * Without it, files are decoded only to check them.
   */
  cache?: ImageCacheOptions | null | undefined;
  limitInputPixels?: number | undefined;
  /** Images decoded at once (default 2, the cores of a small laptop). */
  concurrency?: number | undefined;
  /** Progress label; null hides it. */
  progressLabel?: string | null | undefined;
  /**
   * Aborting stops at the next image: images in flight finish writing, then an ArtstyleError
   * 'interrupted' says how far it got. The same call again resumes from the cache.
   */
  signal?: AbortSignal | null | undefined;
}

/** The size used to validate files when no cache is requested: small, the decode is the check. */
const CHECK_ONLY_SIZE = 8;

interface Candidate {
  full: string;
  rel: string;
  cls: string;
  /** Why the file cannot even be read (a dangling symlink), when it cannot. */
  unreadable?: string;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Lists files under a class folder, following symlinks only while they stay inside `realRoot`. */
function listFiles(
  root: string,
  realRoot: string,
  dir: string,
  cls: string,
  out: Candidate[],
  seen: Set<string>,
): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const ent of entries) {
    if (ent.name.startsWith('.')) continue; // .DS_Store, ._resource forks, our own temporary files
    const full = path.join(dir, ent.name);
    const rel = toPosix(path.relative(root, full));
    let real: string;
    try {
      real = fs.realpathSync(full);
    } catch (e) {
      out.push({ full, rel, cls, unreadable: `cannot be read: ${(e as Error).message}` });
      continue;
    }
    const realRel = path.relative(realRoot, real);
    try {
      resolveInside(realRoot, realRel);
    } catch (e) {
      throw new ArtstyleError(
        'path-escape',
        `${full} points to ${real}, outside the data folder ${root}`,
        full,
        { cause: e },
      );
    }
    const st = fs.statSync(real);
    if (st.isDirectory()) {
      if (seen.has(real)) continue; // a symlink loop or a second link to the same folder
      seen.add(real);
      listFiles(root, realRoot, full, cls, out, seen);
    } else if (st.isFile()) {
      out.push({ full, rel, cls });
    }
  }
}

function listClassFolders(root: string): {
  classNames: string[];
  candidates: Candidate[];
  loose: string[];
} {
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (e) {
    throw new ArtstyleError('missing-data-folder', `data folder ${root} does not exist`, root, {
      cause: e,
    });
  }
  if (!st.isDirectory())
    throw new ArtstyleError('missing-data-folder', `data folder ${root} is not a folder`, root);
  const realRoot = fs.realpathSync(root);
  const classNames: string[] = [];
  const candidates: Candidate[] = [];
  const loose: string[] = [];
  const seen = new Set<string>([realRoot]);
  const entries = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const ent of entries) {
    const full = path.join(root, ent.name);
    let real: string;
    try {
      real = fs.realpathSync(full);
    } catch {
      loose.push(ent.name); // a dangling link in the root: reported as a file outside the classes
      continue;
    }
    try {
      resolveInside(realRoot, path.relative(realRoot, real));
    } catch (e) {
      throw new ArtstyleError(
        'path-escape',
        `${full} points to ${real}, outside the data folder ${root}`,
        full,
        { cause: e },
      );
    }
    if (fs.statSync(real).isDirectory()) {
      classNames.push(ent.name);
      seen.add(real);
      listFiles(root, realRoot, full, ent.name, candidates, seen);
    } else {
      loose.push(ent.name);
    }
  }
  if (classNames.length === 0)
    throw new ArtstyleError(
      'no-classes',
      `data folder ${root} has no class folders (expected one sub-folder per class)`,
      root,
    );
  return { classNames, candidates, loose };
}

function verdictFile(cache: ImageCacheOptions, hash: string): string {
  return path.join(
    cache.cacheDir,
    `${cache.imageSize}px-${policyTag({ size: cache.imageSize, kernel: cache.kernel })}`,
    'skipped',
    `${hash}.json`,
  );
}

interface Verdict {
  reason: SkipReason;
  message: string;
  /** The pixel limit in force when the verdict was made. */
  limit: number;
}

/**
 * A recorded reason to skip a file, when it still holds: 'too-large' only under the same pixel
 * limit (a run with a higher limit must try the image), every other reason always.
 */
function readVerdict(file: string, limit: number): Verdict | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Verdict>;
    if (
      typeof v.reason === 'string' &&
      typeof v.message === 'string' &&
      typeof v.limit === 'number'
    )
      if (v.reason !== 'too-large' || v.limit === limit)
        return { reason: v.reason, message: v.message, limit: v.limit };
  } catch {
    // Missing or damaged: decide again.
  }
  return null;
}

/**
 * Reads a data set laid out as one folder per class (class names sorted; files in sub-folders of
 * a class belong to it, hidden files such as `.DS_Store` are ignored), decoding every distinct
 * content once, by content and not by extension. Files that cannot be used (unreadable, empty,
 * not an image, corrupt or truncated, larger than `limitInputPixels`) and files lying loose in
 * the root are listed in `skipped` with the reason; files with identical content (sha256) are
 * listed in `duplicates`. Errors (ArtstyleError, naming the folder or file): a missing root, a
 * root without class folders, a class folder without a usable image, a symlink leading outside
 * the root.
 */
export async function scanImageFolder(root: string, opts: ScanOptions = {}): Promise<ImageFolder> {
  const limit = opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  check(
    Number.isInteger(limit) && limit > 0,
    'limitInputPixels',
    `expected a positive integer, got ${limit}`,
  );
  const cache = opts.cache ?? null;
  if (cache)
    check(
      Number.isInteger(cache.imageSize) && cache.imageSize >= 1 && cache.imageSize <= 4096,
      'imageSize',
      `expected an integer in 1..4096, got ${cache.imageSize}`,
    );
  const absRoot = path.resolve(root);
  const { classNames, candidates, loose } = listClassFolders(absRoot);
  const skipped: SkippedFile[] = loose.map((name) => ({
    path: name,
    class: '',
    reason: 'outside-class-folder',
    message: 'file lies in the root, not in a class folder',
  }));
  const stats: ScanStats = { decoded: 0, fromCache: 0, rebuiltCorrupt: [] };
  const progress =
    opts.progressLabel === null
      ? null
      : createProgress(opts.progressLabel ?? 'images', candidates.length);
  let done = 0;

  // Identical files are decided once: the second copy waits for the first one's outcome.
  const byHash = new Map<string, Promise<{ reason: SkipReason; message: string } | null>>();
  const abort = {
    signal: opts.signal,
    what: `scanning ${absRoot}`,
    resumeHint: cache
      ? 'finished images are cached; run the same command again to resume'
      : 'run the same command again',
  };
  const results = await mapPool(
    candidates,
    opts.concurrency ?? 2,
    async (c) => {
      let data: Buffer;
      try {
        if (c.unreadable) throw new Error(c.unreadable);
        data = await fs.promises.readFile(c.full);
      } catch (e) {
        progress?.update(++done);
        const message = c.unreadable ?? `cannot be read: ${(e as Error).message}`;
        return { c, hash: '', bytes: 0, outcome: { reason: 'unreadable' as const, message } };
      }
      const hash = sha256(data);
      let decision = byHash.get(hash);
      if (!decision) {
        decision = decideOne(data, hash, cache, limit, stats);
        byHash.set(hash, decision);
      }
      const outcome: { reason: SkippedFile['reason']; message: string } | null = await decision;
      progress?.update(++done);
      return { c, hash, bytes: data.length, outcome };
    },
    abort,
  );
  progress?.end();

  const images: ImageEntry[] = [];
  for (const r of results) {
    if (r.outcome === null)
      images.push({ path: r.c.rel, class: r.c.cls, hash: r.hash, bytes: r.bytes });
    else skipped.push({ path: r.c.rel, class: r.c.cls, ...r.outcome });
  }
  for (const cls of classNames) {
    if (images.some((im) => im.class === cls)) continue;
    const bad = skipped.filter((s) => s.class === cls);
    const detail = bad.length
      ? `; ${bad.length} file(s) skipped: ${bad.map((s) => `${s.path} (${s.reason})`).join(', ')}`
      : '; the folder is empty';
    throw new ArtstyleError(
      'empty-class',
      `class folder ${path.join(absRoot, cls)} has no usable images${detail}`,
      path.join(absRoot, cls),
    );
  }
  return { root: absRoot, classNames, images, skipped, duplicates: findDuplicates(images), stats };
}

async function decideOne(
  data: Buffer,
  hash: string,
  cache: ImageCacheOptions | null,
  limit: number,
  stats: ScanStats,
): Promise<{ reason: SkipReason; message: string } | null> {
  let target: string | null = null;
  let verdict: string | null = null;
  if (cache) {
    const tag = policyTag({ size: cache.imageSize, kernel: cache.kernel });
    target = cacheFile(cache.cacheDir, hash, cache.imageSize, tag);
    verdict = verdictFile(cache, hash);
    if (
      await isCachedImageValid(target, cache.imageSize, (e) =>
        stats.rebuiltCorrupt.push(e.subject ?? ''),
      )
    ) {
      stats.fromCache++;
      return null;
    }
    const known = readVerdict(verdict, limit);
    if (known) {
      stats.fromCache++;
      return { reason: known.reason, message: known.message };
    }
  }
  try {
    if (data.length > 0) stats.decoded++;
    const rgb = await decodeAndResize(data, {
      size: cache ? cache.imageSize : CHECK_ONLY_SIZE,
      limitInputPixels: limit,
      kernel: cache?.kernel,
    });
    if (target && cache) writeCachedImage(target, cache.imageSize, rgb);
    return null;
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    const out = { reason: e.reason, message: e.message };
    if (verdict) writeFileAtomicChecked(verdict, JSON.stringify({ ...out, limit }) + '\n');
    return out;
  }
}

/**
 * Makes sure every image of `folder` has a valid cache entry, decoding only what is missing or
 * corrupt, and identical files once (use it after a scan made without `cache`). Returns the same statistics as a scan.
 */
export async function buildImageCache(
  folder: ImageFolder,
  cache: ImageCacheOptions,
  opts: {
    concurrency?: number;
    limitInputPixels?: number;
    progressLabel?: string | null;
    signal?: AbortSignal | null;
  } = {},
): Promise<ScanStats> {
  const stats: ScanStats = { decoded: 0, fromCache: 0, rebuiltCorrupt: [] };
  const limit = opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  const progress =
    opts.progressLabel === null
      ? null
      : createProgress(opts.progressLabel ?? 'resize', folder.images.length);
  let done = 0;
  const started = new Set<string>();
  await mapPool(
    folder.images,
    opts.concurrency ?? 2,
    async (im) => {
      if (started.has(im.hash)) {
        progress?.update(++done);
        return;
      }
      started.add(im.hash);
      const full = resolveInside(folder.root, im.path);
      const tag = policyTag({ size: cache.imageSize, kernel: cache.kernel });
      const target = cacheFile(cache.cacheDir, im.hash, cache.imageSize, tag);
      if (
        await isCachedImageValid(target, cache.imageSize, (e) =>
          stats.rebuiltCorrupt.push(e.subject ?? ''),
        )
      ) {
        stats.fromCache++;
      } else {
        const data = await fs.promises.readFile(full);
        if (sha256(data) !== im.hash)
          throw new ArtstyleError(
            'changed-file',
            `${full} changed since it was scanned; scan again`,
            full,
          );
        stats.decoded++;
        const rgb = await decodeAndResize(data, {
          size: cache.imageSize,
          limitInputPixels: limit,
          kernel: cache.kernel,
        });
        writeCachedImage(target, cache.imageSize, rgb);
      }
      progress?.update(++done);
    },
    {
      signal: opts.signal,
      what: `resizing into ${cache.cacheDir}`,
      resumeHint: 'finished images are cached; run the same command again to resume',
    },
  );
  progress?.end();
  return stats;
}

export function findDuplicates(images: readonly ImageEntry[]): DuplicateGroup[] {
  const byHash = new Map<string, ImageEntry[]>();
  for (const im of images) {
    const list = byHash.get(im.hash);
    if (list) list.push(im);
    else byHash.set(im.hash, [im]);
  }
  const groups: DuplicateGroup[] = [];
  for (const [hash, list] of byHash) {
    if (list.length < 2) continue;
    groups.push({
      hash,
      paths: list.map((im) => im.path).sort(),
      classes: [...new Set(list.map((im) => im.class))].sort(),
    });
  }
  return groups.sort((a, b) => (a.paths[0]! < b.paths[0]! ? -1 : 1));
}
