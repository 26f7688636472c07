import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from './errors';

/**
 * Writes a file so that readers only ever see the old content or the complete new content:
 * write to a temporary file in the same folder, fsync, then rename over the target.
 * A process killed in the middle leaves at most a stray `.tmp-*` file, never a half-written target.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'the disk is full' : (e as Error).message;
    throw new ArtstyleError(
      'write-failed',
      `could not write ${file}: ${why}; the previous file, if any, is unchanged`,
      file,
      { cause: e },
    );
  }
}

/** Atomic JSON write, pretty-printed with a trailing newline. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Reads and parses a JSON file, naming the file in any error. */
export function readJson<T = unknown>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ArtstyleError('missing-file', `cannot read ${file}: ${(e as Error).message}`, file, {
      cause: e,
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ArtstyleError(
      'corrupt-file',
      `${file} is not valid JSON: ${(e as Error).message}`,
      file,
      { cause: e },
    );
  }
}

/** Hex SHA-256 of a buffer or string. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Resolves `relative` under `root` and refuses any result outside it (`..`, absolute paths,
 * symlink tricks in the name), so that a path read from a CSV or a manifest cannot escape the data set.
 */
export function resolveInside(root: string, relative: string): string {
  const base = path.resolve(root);
  if (path.isAbsolute(relative)) {
    throw new ArtstyleError(
      'path-escape',
      `path ${JSON.stringify(relative)} is absolute; expected a path inside ${base}`,
      relative,
    );
  }
  const full = path.resolve(base, relative);
  const rel = path.relative(base, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ArtstyleError(
      'path-escape',
      `path ${JSON.stringify(relative)} escapes the data folder ${base}`,
      relative,
    );
  }
  return full;
}
