import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArtstyleError } from '../util/errors';
import { readJson, resolveInside, sha256, writeFileAtomic, writeJsonAtomic } from '../util/fs';
// Loading a model must find the project's custom layers in tfjs's serialization registry.
import './batch-norm';
import './seeded-dropout';

/** Version of the checkpoint layout below; bump when it changes incompatibly. */
export const CHECKPOINT_FORMAT_VERSION = 1;
export const MODEL_JSON = 'model.json';

/** The block this project adds to tfjs's model.json. */
export interface CheckpointInfo {
  formatVersion: number;
  weightsFile: string;
  weightsBytes: number;
  weightsSha256: string;
}

/** Points of a save at which a test can simulate a crash. */
export type SaveStep = 'weights-written' | 'model-json-written';

export interface FileSystemHandlerOptions {
  /** Called after each durable step of a save; throwing (or dying) there simulates a crash. */
  onStep?: (step: SaveStep) => void;
}

function toArrayBuffer(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A tfjs IOHandler for the local file system in plain Node (tfjs's `file://` exists only in
 * tfjs-node): `model.save(fileSystemHandler(dir))` and `tf.loadLayersModel(fileSystemHandler(dir))`.
 *
 * A checkpoint is `dir/model.json` (tfjs's layers-model JSON plus an `artstyle` block with the
 * format version and the SHA-256 of the weights) and `dir/weights-<sha prefix>.bin`. A save writes
 * the new weights file under its own content-derived name (temp file, fsync, rename), then
 * replaces model.json the same way, and only then deletes the old weights file. model.json is the
 * commit point: a save killed at any moment leaves either the previous checkpoint or the new one,
 * never a mix. Loading verifies the version, the size and the checksum, and names the file at fault.
 */
export function fileSystemHandler(
  dir: string,
  options: FileSystemHandlerOptions = {},
): tf.io.IOHandler {
  const jsonPath = path.join(dir, MODEL_JSON);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer)
        throw new ArtstyleError(
          'invalid-argument',
          'fileSystemHandler saves layers models only',
          dir,
        );
      const weights = new Uint8Array(toArrayBuffer(artifacts.weightData));
      const digest = sha256(weights);
      const weightsFile = `weights-${digest.slice(0, 16)}.bin`;
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(path.join(dir, weightsFile), weights);
      fsyncDir(dir);
      options.onStep?.('weights-written');

      const info: CheckpointInfo = {
        formatVersion: CHECKPOINT_FORMAT_VERSION,
        weightsFile,
        weightsBytes: weights.byteLength,
        weightsSha256: digest,
      };
      const json: tf.io.ModelJSON & { artstyle: CheckpointInfo } = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology as object,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
        artstyle: info,
      };
      if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      writeJsonAtomic(jsonPath, json);
      fsyncDir(dir);
      options.onStep?.('model-json-written');

      // The new checkpoint is committed; what remains of older saves (or of killed ones) can go.
      for (const name of fs.readdirSync(dir)) {
        const stale =
          (/^weights-[0-9a-f]{16}\.bin$/.test(name) && name !== weightsFile) ||
          /^\.(model\.json|weights-[0-9a-f]{16}\.bin)\.tmp-/.test(name);
        if (stale) fs.rmSync(path.join(dir, name), { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      if (!fs.existsSync(jsonPath))
        throw new ArtstyleError(
          'missing-file',
          `no checkpoint in ${dir}: ${jsonPath} does not exist`,
          jsonPath,
        );
      const json = readJson<Partial<tf.io.ModelJSON> & { artstyle?: Partial<CheckpointInfo> }>(
        jsonPath,
      );
      const info = json?.artstyle;
      if (
        typeof json !== 'object' ||
        json === null ||
        !info ||
        typeof info.formatVersion !== 'number'
      )
        throw new ArtstyleError(
          'foreign-file',
          `${jsonPath} is not a checkpoint written by fileSystemHandler (no artstyle.formatVersion)`,
          jsonPath,
        );
      if (info.formatVersion > CHECKPOINT_FORMAT_VERSION)
        throw new ArtstyleError(
          'unsupported-version',
          `${jsonPath} has checkpoint format ${info.formatVersion}; this version reads up to ${CHECKPOINT_FORMAT_VERSION}`,
          jsonPath,
        );
      const manifest = json.weightsManifest;
      if (
        !json.modelTopology ||
        !Array.isArray(manifest) ||
        manifest.length !== 1 ||
        manifest[0]?.paths?.[0] !== info.weightsFile ||
        typeof info.weightsFile !== 'string'
      )
        throw new ArtstyleError(
          'corrupt-file',
          `${jsonPath}: model topology or weights manifest is missing or inconsistent`,
          jsonPath,
        );
      const weightsPath = resolveInside(dir, info.weightsFile);
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(weightsPath);
      } catch (e) {
        throw new ArtstyleError(
          'missing-file',
          `${weightsPath}, named by ${jsonPath}, cannot be read: ${(e as Error).message}`,
          weightsPath,
          { cause: e },
        );
      }
      if (bytes.byteLength !== info.weightsBytes || sha256(bytes) !== info.weightsSha256)
        throw new ArtstyleError(
          'corrupt-file',
          `${weightsPath} is corrupt: ${bytes.byteLength} bytes with SHA-256 ${sha256(bytes).slice(0, 16)}..., ` +
            `${jsonPath} expects ${info.weightsBytes} bytes with ${String(info.weightsSha256).slice(0, 16)}...`,
          weightsPath,
        );
      const weightData = bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology,
        ...(json.format !== undefined ? { format: json.format } : {}),
        ...(json.generatedBy !== undefined ? { generatedBy: json.generatedBy } : {}),
        ...(json.convertedBy != null ? { convertedBy: json.convertedBy } : {}),
        ...(json.trainingConfig !== undefined ? { trainingConfig: json.trainingConfig } : {}),
        ...(json.userDefinedMetadata !== undefined
          ? { userDefinedMetadata: json.userDefinedMetadata }
          : {}),
        weightSpecs: manifest[0]?.weights ?? [],
        weightData,
      };
    },
  };
}
