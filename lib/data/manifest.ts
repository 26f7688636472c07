import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { readJson, sha256, writeJsonAtomic } from '../util/fs';
import type { ImageFolder } from './imageFolder';
import {
  DEFAULT_FRACTIONS,
  SPLIT_NAMES,
  SplitFractions,
  SplitItem,
  SplitName,
  stratifiedSplit,
  validateFractions,
} from './split';

export const MANIFEST_FORMAT_VERSION = 1;

export interface ManifestItem {
  /** Relative to `root`, `/` separators. */
  path: string;
  class: string;
  split: SplitName;
  hash: string;
}

/** The saved split: which file is in which split, and everything needed to tell if it is stale. */
export interface Manifest {
  formatVersion: number;
  /** Absolute path of the data set the paths are relative to. */
  root: string;
  seed: number;
  fractions: SplitFractions;
  classNames: string[];
  /** sha256 over (seed, fractions, every path/class/hash): equal digest, equal inputs. */
  inputsDigest: string;
  items: ManifestItem[];
}

function inputsDigest(folder: ImageFolder, seed: number, fractions: SplitFractions): string {
  const lines = folder.images
    .map((im) => `${im.class}\t${im.path}\t${im.hash}`)
    .sort()
    .join('\n');
  return sha256(
    JSON.stringify({
      v: MANIFEST_FORMAT_VERSION,
      seed,
      fractions: [fractions.train, fractions.val, fractions.test],
      classes: folder.classNames,
    }) +
      '\n' +
      lines,
  );
}

export function buildManifest(
  folder: ImageFolder,
  seed: number,
  fractions: SplitFractions = DEFAULT_FRACTIONS,
): Manifest {
  const items: SplitItem[] = stratifiedSplit(folder.images, folder.classNames, seed, fractions);
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    root: folder.root,
    seed,
    fractions: { ...fractions },
    classNames: [...folder.classNames],
    inputsDigest: inputsDigest(folder, seed, fractions),
    items: items.map((it) => ({ path: it.path, class: it.class, split: it.split, hash: it.hash })),
  };
}

/** Reads and checks a manifest; anything malformed is a 'corrupt-manifest' error naming the file. */
export function loadManifest(file: string): Manifest {
  const m = readJson<Partial<Manifest>>(file);
  const bad = (why: string): never => {
    throw new ArtstyleError('corrupt-manifest', `manifest ${file} is unusable: ${why}`, file);
  };
  if (typeof m !== 'object' || m === null) bad('not a JSON object');
  if (m.formatVersion !== MANIFEST_FORMAT_VERSION)
    bad(`format version ${String(m.formatVersion)}, this library reads ${MANIFEST_FORMAT_VERSION}`);
  if (typeof m.root !== 'string') bad('no root');
  if (!Number.isInteger(m.seed)) bad('no integer seed');
  if (!Array.isArray(m.classNames) || !m.classNames.every((c) => typeof c === 'string'))
    bad('no classNames');
  if (typeof m.inputsDigest !== 'string') bad('no inputsDigest');
  if (!m.fractions) bad('no fractions');
  try {
    validateFractions(m.fractions as SplitFractions);
  } catch (e) {
    bad((e as Error).message);
  }
  if (!Array.isArray(m.items)) bad('no items');
  const classes = new Set(m.classNames);
  (m.items as unknown[]).forEach((it, i) => {
    const o = it as Partial<ManifestItem>;
    if (
      typeof o !== 'object' ||
      o === null ||
      typeof o.path !== 'string' ||
      typeof o.hash !== 'string' ||
      !classes.has(o.class as string) ||
      !SPLIT_NAMES.includes(o.split as SplitName)
    )
      bad(`item ${i} is malformed`);
    if (path.isAbsolute(o.path as string) || (o.path as string).split('/').includes('..'))
      bad(`item ${i} path ${JSON.stringify(o.path)} leaves the data folder`);
  });
  return m as Manifest;
}

export function saveManifest(file: string, manifest: Manifest): void {
  writeJsonAtomic(file, manifest);
}

/**
 * Returns the manifest saved in `file` when it was made from the same files (paths, classes,
 * content hashes), seed and fractions; otherwise splits again and saves atomically. `reused`
 * says which happened. A corrupt manifest file is rebuilt and reported in `replacedCorrupt`.
 */
export function prepareManifest(
  folder: ImageFolder,
  file: string,
  seed: number,
  fractions: SplitFractions = DEFAULT_FRACTIONS,
): { manifest: Manifest; reused: boolean; replacedCorrupt: string | null } {
  validateFractions(fractions);
  const digest = inputsDigest(folder, seed, fractions);
  let replacedCorrupt: string | null = null;
  if (fs.existsSync(file)) {
    try {
      const old = loadManifest(file);
      if (old.inputsDigest === digest && old.root === folder.root)
        return { manifest: old, reused: true, replacedCorrupt };
    } catch (e) {
      if (!(e instanceof ArtstyleError)) throw e;
      replacedCorrupt = `${file}: ${e.message}`;
    }
  }
  const manifest = buildManifest(folder, seed, fractions);
  saveManifest(file, manifest);
  return { manifest, reused: false, replacedCorrupt };
}

/** The items of one split, in manifest order. */
export function splitItems(manifest: Manifest, split: SplitName): ManifestItem[] {
  return manifest.items.filter((it) => it.split === split);
}
