/**
 * An on-disk float32 feature matrix, one row per item, written chunk by chunk.
 *
 * Layout of a store folder:
 *   index.json          {format, version, dims, chunks: [{file, rows, bytes, sha256, ids}]}
 *   chunk-000000.f32    rows x dims little-endian float32, row-major
 * Each chunk file is written atomically first, then the index is rewritten atomically, so a crash
 * leaves either the old index (the stray chunk is overwritten next time) or the new one: the
 * store always knows exactly which rows exist, and `has(id)` lets an extraction resume.
 * Readers go chunk by chunk (`forEachChunk`), so a matrix of several GB never has to be in memory
 * at once; every chunk's size and SHA-256 are checked against the index, so a truncated, edited
 * or foreign chunk is reported by name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError, check } from '../util/errors';
import { readJson, sha256, writeFileAtomic, writeJsonAtomic } from '../util/fs';

export const STORE_FORMAT = 'artstyle-feature-store';
export const STORE_VERSION = 1;

export interface ChunkEntry {
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
  ids: string[];
}

export interface StoreIndex {
  format: string;
  version: number;
  dims: number;
  dtype: 'float32';
  chunks: ChunkEntry[];
}

export interface Chunk {
  /** Position of the chunk in the store. */
  index: number;
  /** Row number (over the whole store) of this chunk's first row. */
  rowOffset: number;
  ids: string[];
  rows: number;
  /** rows x dims, row-major. */
  data: Float32Array;
}

export interface ReadOptions {
  /** Check each chunk's SHA-256 (default true). Sizes are always checked. */
  verify?: boolean;
}

export class FeatureStore {
  readonly dir: string;
  private idx: StoreIndex;
  private readonly idSet: Set<string>;

  private constructor(dir: string, idx: StoreIndex) {
    this.dir = dir;
    this.idx = idx;
    this.idSet = new Set();
    for (const c of idx.chunks)
      for (const id of c.ids) {
        if (this.idSet.has(id))
          throw new ArtstyleError(
            'corrupt-file',
            `${this.indexPath} lists row id ${JSON.stringify(id)} twice`,
            this.indexPath,
          );
        this.idSet.add(id);
      }
  }

  /** Creates an empty store in `dir` (which must not hold one already). */
  static create(dir: string, dims: number): FeatureStore {
    check(Number.isInteger(dims) && dims > 0, 'dims', `expected a positive integer, got ${dims}`);
    const file = path.join(dir, 'index.json');
    if (fs.existsSync(file))
      throw new ArtstyleError(
        'exists',
        `${file} already exists; open it, or remove the folder first`,
        file,
      );
    const store = new FeatureStore(dir, {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      dims,
      dtype: 'float32',
      chunks: [],
    });
    store.writeIndex();
    return store;
  }

  static open(dir: string): FeatureStore {
    const file = path.join(dir, 'index.json');
    const idx = readJson<StoreIndex>(file);
    if (idx?.format !== STORE_FORMAT)
      throw new ArtstyleError(
        'corrupt-file',
        `${file} is not a feature store index (format ${JSON.stringify(idx?.format)})`,
        file,
      );
    if (idx.version !== STORE_VERSION)
      throw new ArtstyleError(
        'unsupported-version',
        `${file} has store version ${idx.version}; this library reads version ${STORE_VERSION}`,
        file,
      );
    if (!Number.isInteger(idx.dims) || idx.dims <= 0 || !Array.isArray(idx.chunks))
      throw new ArtstyleError('corrupt-file', `${file}: bad dims or chunks`, file);
    return new FeatureStore(dir, idx);
  }

  /** Opens the store in `dir`, or creates it; an existing store must have `dims` columns. */
  static openOrCreate(dir: string, dims: number): FeatureStore {
    if (!fs.existsSync(path.join(dir, 'index.json'))) return FeatureStore.create(dir, dims);
    const store = FeatureStore.open(dir);
    check(
      store.dims === dims,
      'dims',
      `the store in ${dir} has ${store.dims} columns, not ${dims}`,
    );
    return store;
  }

  get indexPath(): string {
    return path.join(this.dir, 'index.json');
  }
  get dims(): number {
    return this.idx.dims;
  }
  get rows(): number {
    return this.idSet.size;
  }
  get chunkCount(): number {
    return this.idx.chunks.length;
  }
  /** Row ids in row order. */
  get ids(): string[] {
    return this.idx.chunks.flatMap((c) => c.ids);
  }
  has(id: string): boolean {
    return this.idSet.has(id);
  }

  /** Appends `ids.length` rows (row-major `data`) as one new chunk. */
  append(ids: readonly string[], data: Float32Array): void {
    check(ids.length > 0, 'ids', 'expected at least one row');
    check(
      data.length === ids.length * this.dims,
      'data',
      `expected ${ids.length} x ${this.dims} = ${ids.length * this.dims} values, got ${data.length}`,
    );
    const seen = new Set<string>();
    for (const id of ids) {
      check(typeof id === 'string' && id.length > 0, 'ids', 'expected non-empty strings');
      check(
        !this.idSet.has(id) && !seen.has(id),
        'ids',
        `row id ${JSON.stringify(id)} is already in the store`,
      );
      seen.add(id);
    }
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i]))
        check(
          false,
          'data',
          `non-finite value at row ${Math.floor(i / this.dims)} (id ${ids[Math.floor(i / this.dims)]})`,
        );
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const file = `chunk-${String(this.idx.chunks.length).padStart(6, '0')}.f32`;
    writeFileAtomic(path.join(this.dir, file), bytes);
    const entry: ChunkEntry = {
      file,
      rows: ids.length,
      bytes: bytes.length,
      sha256: sha256(bytes),
      ids: [...ids],
    };
    this.idx = { ...this.idx, chunks: [...this.idx.chunks, entry] };
    for (const id of ids) this.idSet.add(id);
    this.writeIndex();
  }

  private writeIndex(): void {
    writeJsonAtomic(this.indexPath, this.idx);
  }

  /** Reads chunk `i`, checking its size and (unless told not to) its SHA-256. */
  readChunk(i: number, options: ReadOptions = {}): Chunk {
    check(
      Number.isInteger(i) && i >= 0 && i < this.chunkCount,
      'chunk',
      `expected 0..${this.chunkCount - 1}, got ${i}`,
    );
    const entry = this.idx.chunks[i] as ChunkEntry;
    const file = path.join(this.dir, entry.file);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      throw new ArtstyleError(
        'missing-file',
        `chunk ${i} of ${this.dir}: cannot read ${file}: ${(e as Error).message}`,
        file,
        { cause: e },
      );
    }
    if (buf.length !== entry.bytes || entry.bytes !== entry.rows * this.dims * 4)
      throw new ArtstyleError(
        'corrupt-file',
        `${file} has ${buf.length} bytes; the index expects ${entry.bytes} (${entry.rows} rows x ${this.dims} float32)`,
        file,
      );
    if (options.verify !== false && sha256(buf) !== entry.sha256)
      throw new ArtstyleError(
        'corrupt-file',
        `${file} does not match its SHA-256 in ${this.indexPath}: the chunk was changed or comes from another store`,
        file,
      );
    let rowOffset = 0;
    for (let c = 0; c < i; c++) rowOffset += (this.idx.chunks[c] as ChunkEntry).rows;
    // Copy into an aligned buffer of its own: Buffer slices may sit at an odd offset in a pool.
    const data = new Float32Array(entry.rows * this.dims);
    new Uint8Array(data.buffer).set(buf);
    return { index: i, rowOffset, ids: entry.ids, rows: entry.rows, data };
  }

  /**
   * Reads chunk `i` straight into `target` starting at row `atRow` (no intermediate buffers: a
   * streaming reader reuses one block buffer for every pass). Same checks as `readChunk`.
   * Returns the number of rows read.
   */
  readChunkInto(i: number, target: Float32Array, atRow: number, options: ReadOptions = {}): number {
    check(
      Number.isInteger(i) && i >= 0 && i < this.chunkCount,
      'chunk',
      `expected 0..${this.chunkCount - 1}, got ${i}`,
    );
    const entry = this.idx.chunks[i] as ChunkEntry;
    const file = path.join(this.dir, entry.file);
    check(
      (atRow + entry.rows) * this.dims <= target.length,
      'target',
      `too small for chunk ${i} at row ${atRow}`,
    );
    const bytes = new Uint8Array(
      target.buffer,
      target.byteOffset + atRow * this.dims * 4,
      entry.rows * this.dims * 4,
    );
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new ArtstyleError(
        'missing-file',
        `chunk ${i} of ${this.dir}: cannot read ${file}: ${(e as Error).message}`,
        file,
        { cause: e },
      );
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size !== entry.bytes || entry.bytes !== bytes.length)
        throw new ArtstyleError(
          'corrupt-file',
          `${file} has ${size} bytes; the index expects ${entry.bytes} (${entry.rows} rows x ${this.dims} float32)`,
          file,
        );
      let got = 0;
      while (got < bytes.length) {
        const n = fs.readSync(fd, bytes, got, bytes.length - got, got);
        if (n === 0)
          throw new ArtstyleError('corrupt-file', `${file} ended after ${got} bytes`, file);
        got += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (options.verify !== false && sha256(bytes) !== entry.sha256)
      throw new ArtstyleError(
        'corrupt-file',
        `${file} does not match its SHA-256 in ${this.indexPath}: the chunk was changed or comes from another store`,
        file,
      );
    return entry.rows;
  }

  /** Calls `fn(rows, index)` for each chunk's entry in the index, without reading the chunk. */
  forEachChunkEntry(fn: (rows: number, index: number) => void): void {
    this.idx.chunks.forEach((c, i) => fn(c.rows, i));
  }

  /** Calls `fn` on every chunk in order, holding one chunk in memory at a time. */
  forEachChunk(fn: (chunk: Chunk) => void, options: ReadOptions = {}): void {
    for (let i = 0; i < this.chunkCount; i++) fn(this.readChunk(i, options));
  }

  /** The whole matrix in memory (rows x dims); only for stores known to be small. */
  readAll(options: ReadOptions = {}): { ids: string[]; data: Float32Array } {
    const data = new Float32Array(this.rows * this.dims);
    this.forEachChunk((c) => data.set(c.data, c.rowOffset * this.dims), options);
    return { ids: this.ids, data };
  }
}
