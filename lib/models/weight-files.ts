import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtstyleError, errorMessage } from '../util/errors';
import { createProgress } from '../util/progress';
import type { BackboneKind } from './preprocess';

export interface KerasWeightFile {
  kind: BackboneKind;
  fileName: string;
  url: string;
  /** The MD5 that Keras's `get_file` checks for this file (keras/src/applications). */
  md5: string;
}

/** The ImageNet weight files (without top) that Keras Applications downloads. */
export const KERAS_WEIGHT_FILES: Record<BackboneKind, KerasWeightFile> = {
  xception: {
    kind: 'xception',
    fileName: 'xception_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5',
    md5: 'b0042744bf5b25fce3cb969f33bebb97',
  },
  resnet50: {
    kind: 'resnet50',
    fileName: 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
    md5: '4d473c1dd8becc155b73f8504c6f6626',
  },
};

export const DEFAULT_WEIGHTS_DIR = path.join('data', 'weights');

/** Where the weight file of `kind` lives under `dir`, and whether it is there. */
export function kerasWeightsPath(
  kind: BackboneKind,
  dir = DEFAULT_WEIGHTS_DIR,
): { path: string; exists: boolean } {
  const p = path.join(dir, KERAS_WEIGHT_FILES[kind].fileName);
  return { path: p, exists: fs.existsSync(p) };
}

export type FetchLike = (url: string) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | null;
}>;

export interface DownloadOptions {
  dir?: string | undefined;
  /** Re-download even if the file is present with the right checksum. */
  force?: boolean;
  /** For tests; defaults to the global fetch. */
  fetch?: FetchLike;
}

function md5File(file: string): string {
  return createHash('md5').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Downloads one Keras weight file into `dir` (default data/weights), unless it is already there
 * with Keras's checksum. Returns the path.
 */
export async function downloadKerasWeights(
  kind: BackboneKind,
  options: DownloadOptions = {},
): Promise<string> {
  const spec = KERAS_WEIGHT_FILES[kind];
  const target = path.join(options.dir ?? DEFAULT_WEIGHTS_DIR, spec.fileName);
  if (!options.force && fs.existsSync(target) && md5File(target) === spec.md5) return target;
  await downloadFile(spec.url, target, spec.md5, options.fetch);
  return target;
}

/**
 * Streams `url` to a temporary file beside `target` with progress, checks its MD5, fsyncs and
 * renames it into place, so an interrupted or corrupt download never leaves a file under the
 * final name.
 */
export async function downloadFile(
  url: string,
  target: string,
  expectedMd5: string,
  fetchImpl?: FetchLike,
): Promise<void> {
  const name = path.basename(target);
  const doFetch = fetchImpl ?? (globalThis.fetch as unknown as FetchLike);
  let response: Awaited<ReturnType<FetchLike>>;
  try {
    response = await doFetch(url);
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    throw new ArtstyleError(
      'offline',
      `cannot download ${name} from ${url}: ${errorMessage(e)}${cause ? ` (${errorMessage(cause)})` : ''}. ` +
        `This machine seems to be offline or cannot reach the server; download the file elsewhere and put it at ${target}`,
      url,
      { cause: e },
    );
  }
  if (!response.ok || !response.body)
    throw new ArtstyleError(
      'download-failed',
      `cannot download ${name}: ${url} answered ${response.status} ${response.statusText}`,
      url,
    );
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = path.join(
    path.dirname(target),
    `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const total = Number(response.headers.get('content-length') ?? 0);
  const progress = createProgress(`download ${name}`, total > 0 ? total : 1);
  const md5 = createHash('md5');
  let fd: number | undefined = fs.openSync(tmp, 'w');
  let done = 0;
  try {
    for await (const chunk of response.body) {
      fs.writeSync(fd, chunk);
      md5.update(chunk);
      done += chunk.byteLength;
      progress.update(total > 0 ? done : 0, `${(done / 2 ** 20).toFixed(1)} MiB`);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    const digest = md5.digest('hex');
    if (digest !== expectedMd5)
      throw new ArtstyleError(
        'checksum-mismatch',
        `downloaded ${name} has MD5 ${digest}, expected ${expectedMd5}; not kept`,
        url,
      );
    fs.renameSync(tmp, target);
    progress.end(`${(done / 2 ** 20).toFixed(1)} MiB, MD5 ok`);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    if (e instanceof ArtstyleError) throw e;
    throw new ArtstyleError(
      'download-failed',
      `download of ${name} failed: ${errorMessage(e)}`,
      url,
      { cause: e },
    );
  }
}
