import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArtstyleError } from '../util/errors';
import { sha256, writeFileAtomic, writeJsonAtomic } from '../util/fs';
import type { EpochRecord } from './history';
import { orderedWeights } from './weights';

/**
 * Checkpoints: everything needed to continue a run exactly where it stopped, written after every
 * epoch. One binary file holds the model's variables (in the stable order of `orderedWeights`)
 * followed by the optimizer's state (`optimizer.getWeights()`, iteration count included); a JSON
 * manifest, written last, names that file with its SHA-256 and carries the history, the counters
 * and the hash of the run's configuration. The manifest is the commit point: a run killed while
 * writing leaves the previous checkpoint intact. A manifest that is not ours, from a newer format,
 * with a wrong checksum or for another configuration is an error naming the file.
 */
export const CHECKPOINT_FORMAT = 'artstyle-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MANIFEST_FILE = 'checkpoint.json';

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Byte offset in the weights file. */
  offset: number;
  bytes: number;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Epochs completed. */
  epoch: number;
  /** Epochs the run was asked for when this was written (a later call may ask for more). */
  targetEpochs: number;
  /** Training batches completed (drives the per-step dropout seed). */
  step: number;
  seed: number;
  configHash: string;
  config: Record<string, unknown>;
  weightsFile: string;
  weightsSha256: string;
  model: TensorEntry[];
  optimizer: TensorEntry[];
  history: EpochRecord[];
  savedAt: string;
  /** SHA-256 of this manifest without this field. */
  checksum: string;
}

export interface LoadedCheckpoint {
  manifest: CheckpointManifest;
  file: string;
  data: Buffer;
}

/** Canonical JSON (sorted keys) so that a hash does not depend on key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function manifestChecksum(m: Omit<CheckpointManifest, 'checksum'> & { checksum?: string }): string {
  const rest: Record<string, unknown> = { ...m };
  delete rest['checksum'];
  return sha256(stableStringify(rest));
}

async function tensorBytes(t: tf.Tensor): Promise<{ dtype: 'float32' | 'int32'; bytes: Buffer }> {
  if (t.dtype !== 'float32' && t.dtype !== 'int32')
    throw new ArtstyleError(
      'unsupported-dtype',
      `cannot checkpoint a ${t.dtype} tensor`,
      'checkpoint',
    );
  const data = (await t.data()) as Float32Array | Int32Array;
  return {
    dtype: t.dtype,
    bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  };
}

export interface SaveCheckpointOptions {
  dir: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  epoch: number;
  targetEpochs: number;
  step: number;
  seed: number;
  configHash: string;
  config: Record<string, unknown>;
  history: EpochRecord[];
}

export async function saveCheckpoint(o: SaveCheckpointOptions): Promise<CheckpointManifest> {
  const parts: Buffer[] = [];
  let offset = 0;
  const add = async (name: string, t: tf.Tensor): Promise<TensorEntry> => {
    const { dtype, bytes } = await tensorBytes(t);
    const entry = { name, shape: t.shape.slice(), dtype, offset, bytes: bytes.byteLength };
    parts.push(Buffer.from(bytes));
    offset += bytes.byteLength;
    return entry;
  };
  const model: TensorEntry[] = [];
  for (const w of orderedWeights(o.model)) model.push(await add(w.name, w.variable.read()));
  const optimizer: TensorEntry[] = [];
  const optWeights = await o.optimizer.getWeights();
  for (const w of optWeights) optimizer.push(await add(w.name, w.tensor));
  // getWeights() returns a fresh iteration-count scalar; the slot tensors are the optimizer's own.
  if (optWeights[0]) optWeights[0].tensor.dispose();
  const data = Buffer.concat(parts);
  const weightsFile = `weights-epoch${String(o.epoch).padStart(4, '0')}.bin`;
  writeFileAtomic(path.join(o.dir, weightsFile), data);
  const body: Omit<CheckpointManifest, 'checksum'> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch: o.epoch,
    targetEpochs: o.targetEpochs,
    step: o.step,
    seed: o.seed,
    configHash: o.configHash,
    config: o.config,
    weightsFile,
    weightsSha256: sha256(data),
    model,
    optimizer,
    history: o.history,
    savedAt: new Date().toISOString(),
  };
  const manifest: CheckpointManifest = { ...body, checksum: manifestChecksum(body) };
  writeJsonAtomic(path.join(o.dir, MANIFEST_FILE), manifest);
  for (const f of fs.readdirSync(o.dir))
    if (/^weights-epoch\d+\.bin$/.test(f) && f !== weightsFile)
      fs.rmSync(path.join(o.dir, f), { force: true });
  return manifest;
}

function corrupt(file: string, why: string): ArtstyleError {
  return new ArtstyleError(
    'corrupt-checkpoint',
    `checkpoint ${file} ${why}; it was not loaded. Delete the folder ${path.dirname(file)} to start this run over`,
    file,
  );
}

/** Reads and verifies the checkpoint in `dir`; null when there is none. */
export function readCheckpoint(dir: string): LoadedCheckpoint | null {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return null;
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointManifest;
  } catch (e) {
    throw corrupt(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (!manifest || typeof manifest !== 'object' || manifest.format !== CHECKPOINT_FORMAT)
    throw new ArtstyleError(
      'foreign-checkpoint',
      `${file} is not an artstyle checkpoint (format ${JSON.stringify((manifest as { format?: unknown })?.format)}, expected ${CHECKPOINT_FORMAT}); it was not loaded`,
      file,
    );
  if (typeof manifest.version !== 'number' || manifest.version > CHECKPOINT_VERSION)
    throw new ArtstyleError(
      'foreign-checkpoint',
      `${file} has format version ${manifest.version}; this library reads up to version ${CHECKPOINT_VERSION}`,
      file,
    );
  if (manifestChecksum(manifest) !== manifest.checksum)
    throw corrupt(file, 'fails its checksum (edited or damaged)');
  const weightsPath = path.join(dir, manifest.weightsFile);
  let data: Buffer;
  try {
    data = fs.readFileSync(weightsPath);
  } catch {
    throw corrupt(weightsPath, `is missing (named by ${file})`);
  }
  if (sha256(data) !== manifest.weightsSha256)
    throw corrupt(weightsPath, 'does not match the SHA-256 recorded in its manifest');
  return { manifest, file, data };
}

function entryTensor(ck: LoadedCheckpoint, e: TensorEntry): tf.Tensor {
  const slice = ck.data.subarray(e.offset, e.offset + e.bytes);
  const copy = new Uint8Array(slice).buffer;
  const values = e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
  return tf.tensor(values, e.shape, e.dtype);
}

/**
 * Writes the checkpoint's model variables into `model`, matching them by position in the stable
 * order and checking every shape, so that weights of another architecture are refused by name.
 */
export function restoreModelWeights(model: tf.LayersModel, ck: LoadedCheckpoint): void {
  const weights = orderedWeights(model);
  const entries = ck.manifest.model;
  if (weights.length !== entries.length)
    throw new ArtstyleError(
      'checkpoint-mismatch',
      `checkpoint ${ck.file} holds ${entries.length} weight tensors but the model has ${weights.length}: it was made for another architecture`,
      ck.file,
    );
  weights.forEach((w, i) => {
    const e = entries[i]!;
    const shape = w.variable.shape;
    if (shape.length !== e.shape.length || shape.some((d, j) => d !== e.shape[j]))
      throw new ArtstyleError(
        'checkpoint-mismatch',
        `checkpoint ${ck.file}: weight ${i} (${e.name}) has shape [${e.shape}] but the model's ${w.name} has shape [${shape}]`,
        ck.file,
      );
  });
  weights.forEach((w, i) => {
    const t = entryTensor(ck, entries[i]!);
    w.variable.write(t);
    t.dispose();
  });
}

export async function restoreOptimizer(
  optimizer: tf.Optimizer,
  ck: LoadedCheckpoint,
): Promise<void> {
  const named = ck.manifest.optimizer.map((e) => ({ name: e.name, tensor: entryTensor(ck, e) }));
  await optimizer.setWeights(named);
  named.forEach((n) => n.tensor.dispose());
  restoreAdamPowers(optimizer);
}

/**
 * tfjs's Adam keeps beta1^t and beta2^t as running float32 products, but its setWeights recomputes
 * them with pow, which differs in the last bit at some steps (beta1 0.9: after 8 and 11 steps;
 * beta2 0.999: after 2 and 5). Redo the products so that a restored Adam continues bit for bit.
 */
export function restoreAdamPowers(optimizer: tf.Optimizer): void {
  // Not instanceof: tfjs's optimizers answer it for any optimizer (Symbol.hasInstance).
  if (optimizer.getClassName() !== 'Adam') return;
  const adam = optimizer as unknown as {
    accBeta1: tf.Variable;
    accBeta2: tf.Variable;
    beta1: number;
    beta2: number;
  };
  const steps = optimizer.iterations;
  tf.tidy(() => {
    let b1: tf.Tensor = tf.scalar(adam.beta1);
    let b2: tf.Tensor = tf.scalar(adam.beta2);
    for (let t = 0; t < steps; t++) {
      b1 = tf.mul(b1, adam.beta1);
      b2 = tf.mul(b2, adam.beta2);
    }
    adam.accBeta1.assign(b1);
    adam.accBeta2.assign(b2);
  });
}

/**
 * Loads only the model weights of the checkpoint in `dir` (fine-tuning from a pretrained run).
 * With `requireFinished`, a run that stopped before its last epoch is refused: fine-tuning from
 * half-pretrained weights would quietly change the study.
 */
export function loadCheckpointWeights(
  model: tf.LayersModel,
  dir: string,
  requireFinished = false,
): CheckpointManifest {
  const ck = readCheckpoint(dir);
  if (!ck)
    throw new ArtstyleError(
      'missing-checkpoint',
      `no checkpoint in ${dir} (expected ${path.join(dir, MANIFEST_FILE)}): run the training that produces it first`,
      dir,
    );
  if (requireFinished) assertFinished(ck);
  restoreModelWeights(model, ck);
  return ck.manifest;
}

export function assertFinished(ck: LoadedCheckpoint): void {
  const { epoch, targetEpochs } = ck.manifest;
  if (epoch === 0 || epoch < targetEpochs)
    throw new ArtstyleError(
      'unfinished-run',
      `the run in ${path.dirname(path.dirname(ck.file))} stopped after ${epoch} of ${targetEpochs} epochs; run it again to finish it before starting from its weights`,
      ck.file,
    );
}
