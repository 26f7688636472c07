import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { writeFileAtomic } from '../util/fs';

/**
 * One resized image on disk: a 48-byte header, then size*size*3 bytes of RGB.
 *
 * header: magic "ASIMGRGB" (8) | format version u32 | size u32 | channels u32 | payload bytes u32 |
 *         sha256 of the payload (32), all little-endian.
 *
 * The checksum is what lets a reader tell a file cut short by a crash, a flipped bit or a foreign
 * file from a good one; such a file is named in the error, never used silently. Files are written
 * atomically (temporary file + rename), so a killed run leaves no half-written entry.
 */
export const CACHE_MAGIC = 'ASIMGRGB';
export const CACHE_FORMAT_VERSION = 1;
const HEADER_BYTES = 8 + 4 * 4 + 32;

export interface CachedImage {
  size: number;
  /** size*size*3 bytes, RGB, row-major. */
  data: Uint8Array;
}

/** Where the entry for (content hash, size, policy) lives. */
export function cacheFile(cacheDir: string, hash: string, size: number, policy: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash))
    throw new ArtstyleError(
      'invalid-argument',
      `hash: expected 64 hex digits, got ${hash}`,
      'hash',
    );
  return path.join(cacheDir, `${size}px-${policy}`, hash.slice(0, 2), `${hash}.rgb`);
}

export function encodeCachedImage(size: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== size * size * 3)
    throw new ArtstyleError(
      'invalid-argument',
      `rgb: expected ${size * size * 3} bytes for ${size}x${size}x3, got ${rgb.length}`,
      'rgb',
    );
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(CACHE_MAGIC, 0, 'latin1');
  header.writeUInt32LE(CACHE_FORMAT_VERSION, 8);
  header.writeUInt32LE(size, 12);
  header.writeUInt32LE(3, 16);
  header.writeUInt32LE(rgb.length, 20);
  createHash('sha256').update(rgb).digest().copy(header, 24);
  return Buffer.concat([header, rgb]);
}

/** Checks a cache file's bytes; throws ArtstyleError 'corrupt-cache' naming `file` and what is wrong. */
export function decodeCachedImage(
  file: string,
  bytes: Uint8Array,
  expectedSize: number,
): CachedImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const bad = (why: string): never => {
    throw new ArtstyleError('corrupt-cache', `cache file ${file} is unusable: ${why}`, file);
  };
  if (buf.length < HEADER_BYTES) bad(`only ${buf.length} bytes, shorter than the header`);
  if (buf.toString('latin1', 0, 8) !== CACHE_MAGIC) bad('not an image cache file (wrong magic)');
  const version = buf.readUInt32LE(8);
  if (version !== CACHE_FORMAT_VERSION)
    bad(`format version ${version}, this library reads ${CACHE_FORMAT_VERSION}`);
  const size = buf.readUInt32LE(12);
  const channels = buf.readUInt32LE(16);
  const n = buf.readUInt32LE(20);
  if (size !== expectedSize) bad(`holds ${size}px images, expected ${expectedSize}px`);
  if (channels !== 3 || n !== size * size * 3) bad(`header says ${channels} channels, ${n} bytes`);
  if (buf.length !== HEADER_BYTES + n)
    bad(`${buf.length - HEADER_BYTES} payload bytes, expected ${n}`);
  const data = buf.subarray(HEADER_BYTES);
  const sum = createHash('sha256').update(data).digest();
  if (!sum.equals(buf.subarray(24, 56))) bad('checksum mismatch (damaged or partly written)');
  return { size, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * writeFileAtomic, with a failure to create the folder (a file in the way, no permission) also
 * reported as 'write-failed' naming the file, like a failed write.
 */
export function writeFileAtomicChecked(file: string, data: string | Uint8Array): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new ArtstyleError(
      'write-failed',
      `could not write ${file}: cannot create its folder: ${(e as Error).message}`,
      file,
      { cause: e },
    );
  }
  writeFileAtomic(file, data);
}

export function writeCachedImage(file: string, size: number, rgb: Uint8Array): void {
  writeFileAtomicChecked(file, encodeCachedImage(size, rgb));
}

/** Reads and checks a cache entry; a missing file is 'missing-cache', a bad one 'corrupt-cache'. */
export async function readCachedImage(file: string, size: number): Promise<CachedImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new ArtstyleError(
      'missing-cache',
      `cache file ${file} is missing; build the cache first (buildImageCache)`,
      file,
      { cause: e },
    );
  }
  return decodeCachedImage(file, bytes, size);
}

/** True when `file` exists and passes every check; a corrupt one is reported through `onCorrupt`. */
export async function isCachedImageValid(
  file: string,
  size: number,
  onCorrupt?: (e: ArtstyleError) => void,
): Promise<boolean> {
  try {
    await readCachedImage(file, size);
    return true;
  } catch (e) {
    if (e instanceof ArtstyleError && e.code === 'corrupt-cache') onCorrupt?.(e);
    else if (!(e instanceof ArtstyleError && e.code === 'missing-cache')) throw e;
    return false;
  }
}
