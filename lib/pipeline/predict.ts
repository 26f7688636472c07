import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { StudyConfig } from '../config/profiles';
import { loadManifest } from '../data/manifest';
import { decodeAndResize, ImageDecodeError, type SkipReason } from '../data/resizePolicy';
import { wilsonInterval, type Interval } from '../eval/stats';
import { gradCam } from '../models/gradcam';
import { preprocessInput } from '../models';
import { overlayHeatmap } from '../plots/heatmap';
import { imageGridFigure, type Figure, type ImageCell } from '../plots';
import { readCheckpoint, restoreModelWeights, type CheckpointManifest } from '../train/checkpoint';
import { ArtstyleError, check } from '../util/errors';
import { writeFileAtomic } from '../util/fs';
import { PROFILE_NAMES, stepDir, type ProfileName, type RunParams } from './params';
import { buildStudyModel, chosenBlocks, limitPerClass, studyConfig } from './study1';

/**
 * Using a trained model of the first study on new images: which model (the sweep's choice by
 * default), the same decoding, resize and Xception scaling as training, top-k styles, and Grad-CAM
 * overlays of where the model looked.
 */

export interface StudyModel {
  model: tf.LayersModel;
  classNames: string[];
  imageSize: number;
  /** The model folder (`<run>/sweep/blockN`). */
  modelDir: string;
  /** The run folder it belongs to (`<run>`), whose prepare/manifest.json holds the class list. */
  runDir: string;
  /** Frozen-block count, from the folder name (null if it is not `blockN`). */
  blocks: number | null;
  profile: ProfileName;
  config: StudyConfig;
  seed: number;
  checkpoint: CheckpointManifest;
  /** Why this model was chosen, for the reader. */
  source: string;
}

/**
 * The model folder for `spec`: a path to `<run>/sweep/blockN` (absolute, relative to the working
 * folder, or relative to the run's output folder), or, without one, the sweep's chosen model of
 * the run `params.outDir`.
 */
export function resolveModelDir(
  params: RunParams,
  spec?: string,
): { modelDir: string; source: string } {
  if (spec === undefined || spec === '') {
    const config = studyConfig(params);
    const chosen = chosenBlocks(params, config);
    return {
      modelDir: path.join(stepDir(params, 'sweep'), `block${chosen.blocks}`),
      source: chosen.source,
    };
  }
  const candidates = [path.resolve(spec), path.resolve(params.outDir, spec)];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found)
    throw new ArtstyleError(
      'missing-model',
      `--model ${spec}: no such folder (looked at ${[...new Set(candidates)].join(' and ')}); expected a trained model folder such as runs/teaching/sweep/block3`,
      spec,
    );
  return { modelDir: found, source: `--model ${spec}` };
}

/**
 * The run folder a model folder belongs to: the nearest folder above it (up to three levels:
 * `<run>/pretrain`, `<run>/sweep/blockN`, `<run>/weighted/blockN`) with a `prepare/manifest.json`,
 * the class list of its training.
 */
function runDirOf(modelDir: string): string {
  let dir = path.dirname(modelDir);
  for (let up = 0; up < 3; up++, dir = path.dirname(dir))
    if (fs.existsSync(path.join(dir, 'prepare', 'manifest.json'))) return dir;
  throw new ArtstyleError(
    'missing-class-list',
    `no run folder with a prepare/manifest.json (the class list) above ${modelDir}: a model folder must stay inside its run folder (<run>/sweep/blockN, <run>/pretrain)`,
    modelDir,
  );
}

function classCountOfWeights(ck: CheckpointManifest): number | null {
  const bias = ck.model.find((e) => e.name.startsWith('predictions/') && e.shape.length === 1);
  return bias ? bias.shape[0]! : null;
}

/**
 * Loads a finished model of the study with its class list. Refused, each with a named error: a
 * folder without a checkpoint or with an unfinished one, a class list (the run's manifest) whose
 * length differs from the weights' number of classes, weights of another architecture.
 */
export function loadStudyModel(params: RunParams, spec?: string): StudyModel {
  const { modelDir, source } = resolveModelDir(params, spec);
  const ckDir = path.join(modelDir, 'checkpoint');
  const ck = readCheckpoint(ckDir);
  if (!ck)
    throw new ArtstyleError(
      'missing-checkpoint',
      `model folder ${modelDir} has no finished checkpoint (no ${path.join(ckDir, 'checkpoint.json')}): train it first (\`artstyle sweep\`), or pass --model with a trained model folder`,
      modelDir,
    );
  const { epoch, targetEpochs } = ck.manifest;
  if (epoch === 0 || epoch < targetEpochs)
    throw new ArtstyleError(
      'unfinished-model',
      `model folder ${modelDir} has no finished checkpoint: its training stopped after ${epoch} of ${targetEpochs} epochs; run the same \`artstyle sweep\` again to finish it`,
      ck.file,
    );
  const runDir = runDirOf(modelDir);
  const manifestFile = path.join(runDir, 'prepare', 'manifest.json');
  const classNames = loadManifest(manifestFile).classNames;
  const data = (ck.manifest.config['data'] ?? {}) as { numClasses?: number; imageSize?: number };
  const weightClasses = classCountOfWeights(ck.manifest) ?? data.numClasses ?? null;
  if (weightClasses !== classNames.length)
    throw new ArtstyleError(
      'class-mismatch',
      `the class list of ${manifestFile} has ${classNames.length} styles but the weights in ${ckDir} predict ${weightClasses ?? 'an unknown number of'} classes: the model does not belong to this run`,
      ckDir,
    );
  const imageSize = data.imageSize;
  if (typeof imageSize !== 'number')
    throw new ArtstyleError(
      'corrupt-checkpoint',
      `${ck.file} does not record its image size`,
      ck.file,
    );
  // The architecture follows the profile; a model folder of another profile than the one asked
  // for is recognised by its image size and loaded with its own profile.
  const profiles = [params.profile, ...PROFILE_NAMES.filter((p) => p !== params.profile)].filter(
    (p) => studyConfig({ ...params, profile: p }).imageSize === imageSize,
  );
  if (!profiles.length)
    throw new ArtstyleError(
      'profile-mismatch',
      `${modelDir} was trained at ${imageSize} px, which no profile uses (${PROFILE_NAMES.map((p) => `${p}: ${studyConfig({ ...params, profile: p }).imageSize} px`).join(', ')})`,
      modelDir,
    );
  let lastError: unknown;
  for (const profile of profiles) {
    const config = studyConfig({ ...params, profile });
    const model = buildStudyModel(config, classNames.length, ck.manifest.seed);
    try {
      restoreModelWeights(model, ck);
    } catch (e) {
      model.dispose();
      lastError = e;
      continue;
    }
    const m = /^block(\d+)$/.exec(path.basename(modelDir));
    return {
      model,
      classNames,
      imageSize,
      modelDir,
      runDir,
      blocks: m ? Number(m[1]) : null,
      profile,
      config,
      seed: ck.manifest.seed,
      checkpoint: ck.manifest,
      source,
    };
  }
  throw lastError;
}

/** Why an input file was not predicted. */
export type InputSkipReason = SkipReason | 'unreadable';

/** Reads and decodes one file exactly as training's cache did (decode by content, EXIF, flatten, sRGB, fill-resize with Lanczos-3). */
export async function decodeForModel(file: string, imageSize: number): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new ArtstyleError('unreadable', `${file} cannot be read: ${(e as Error).message}`, file, {
      cause: e,
    });
  }
  try {
    return await decodeAndResize(bytes, { size: imageSize });
  } catch (e) {
    if (e instanceof ImageDecodeError)
      throw new ImageDecodeError(e.reason, `${file}: ${e.message}`, file);
    throw e;
  }
}

export interface ClassProbability {
  className: string;
  probability: number;
}

export interface PredictedImage {
  /** Relative to the folder given (or the file's name for a single file), `/` separators. */
  file: string;
  /** The style folder the file sits in, when it is one of the model's classes; null otherwise. */
  label: string | null;
  top: ClassProbability[];
  /** One probability per class, in `classNames` order. */
  probabilities: number[];
  /** Path of the Grad-CAM overlay, when asked for. */
  explanation?: string;
}

export interface SkippedImage {
  file: string;
  reason: InputSkipReason;
  message: string;
}

/** A file, a folder, or chosen files under a root folder (their folders name their styles). */
export type PredictInput = string | { root: string; files: string[] };

export interface PredictionSet {
  input: string;
  classNames: string[];
  images: PredictedImage[];
  skipped: SkippedImage[];
  /** Over the images whose folder names a class; null when none does. */
  accuracy: { correct: number; n: number; interval: Interval } | null;
}

export interface PredictOptions {
  topK?: number;
  batchSize?: number;
  /** Write one Grad-CAM overlay PNG per image into this folder. */
  explainDir?: string;
  /** Side of the overlay PNGs (default: the image size, at least 288). */
  overlaySize?: number;
}

function listFiles(dir: string, root: string, out: string[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const ent of entries) {
    if (ent.name.startsWith('.')) continue;
    const full = path.join(dir, ent.name);
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(full);
    } catch {
      st = null; // a dangling link: listed, and reported as unreadable
    }
    if (st?.isDirectory()) listFiles(full, root, out);
    else out.push(path.relative(root, full));
  }
}

/** The files `input` stands for: itself, or every file under it (sorted, dot files left out). */
export function listInputs(input: string): { root: string; files: string[]; folder: boolean } {
  let st: fs.Stats;
  try {
    st = fs.statSync(input);
  } catch (e) {
    throw new ArtstyleError('unreadable', `${input} does not exist or cannot be read`, input, {
      cause: e,
    });
  }
  if (!st.isDirectory())
    return { root: path.dirname(input), files: [path.basename(input)], folder: false };
  const files: string[] = [];
  listFiles(input, input, files);
  return { root: input, files, folder: true };
}

/** The top `k` classes of one row of probabilities, most probable first (ties: lower index). */
export function topK(
  probabilities: ArrayLike<number>,
  classNames: string[],
  k: number,
): ClassProbability[] {
  return Array.from(probabilities, (p, i) => ({ p, i }))
    .sort((a, b) => b.p - a.p || a.i - b.i)
    .slice(0, k)
    .map(({ p, i }) => ({ className: classNames[i]!, probability: p }));
}

function overlayName(rel: string): string {
  return `${rel
    .split(/[\\/]/)
    .join('__')
    .replace(/\.[^.]*$/, '')}.png`;
}

/** The Grad-CAM overlay of one model-sized RGB image, as a `side` x `side` PNG. */
export async function overlayPng(
  rgb: Uint8Array,
  imageSize: number,
  map: Float32Array,
  mapSize: number,
  side: number,
): Promise<Buffer> {
  const big = await sharp(rgb, { raw: { width: imageSize, height: imageSize, channels: 3 } })
    .resize(side, side, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  // Bicubic rather than bilinear: a bilinear tent over a coarse map (3x3 at 96 px) shows creases
  // along the cell centres that look like structure; the figure needs a smooth map, not 16 bits.
  const heat8 = Uint8Array.from(map, (v) => Math.round(255 * Math.max(0, Math.min(1, v))));
  const up = await sharp(heat8, { raw: { width: mapSize, height: mapSize, channels: 1 } })
    .resize(side, side, { fit: 'fill', kernel: 'cubic' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  const heat = Float32Array.from(up, (v) => v / 255);
  const blended = overlayHeatmap(
    { height: side, width: side, data: new Uint8Array(big) },
    heat,
    0.6,
  );
  return sharp(blended.data, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
}

/**
 * Predicts every image of `input` (a file or a folder). A single file that cannot be used is an
 * error naming it; in a folder such files are listed in `skipped` with their reason.
 */
export async function predictImages(
  sm: StudyModel,
  input: PredictInput,
  options: PredictOptions = {},
): Promise<PredictionSet> {
  const k = options.topK ?? 3;
  check(
    Number.isInteger(k) && k >= 1 && k <= sm.classNames.length,
    'top',
    `expected an integer in 1..${sm.classNames.length}, got ${k}`,
  );
  const batchSize = options.batchSize ?? sm.config.evalBatchSize;
  check(
    Number.isInteger(batchSize) && batchSize >= 1,
    'batchSize',
    `expected a positive integer, got ${batchSize}`,
  );
  const side = options.overlaySize ?? Math.max(sm.imageSize, 288);
  const listed =
    typeof input === 'string' ? listInputs(input) : { ...input, folder: true as boolean };
  const images: PredictedImage[] = [];
  const skipped: SkippedImage[] = [];
  const size = sm.imageSize;
  const pixels = size * size * 3;
  for (let start = 0; start < listed.files.length; start += batchSize) {
    const decoded: { rel: string; rgb: Uint8Array }[] = [];
    for (const rel of listed.files.slice(start, start + batchSize)) {
      const full = path.join(listed.root, rel);
      try {
        decoded.push({ rel, rgb: await decodeForModel(full, size) });
      } catch (e) {
        if (!listed.folder || !(e instanceof ArtstyleError)) throw e;
        const reason: InputSkipReason = e instanceof ImageDecodeError ? e.reason : 'unreadable';
        skipped.push({ file: rel.split(path.sep).join('/'), reason, message: e.message });
      }
    }
    if (!decoded.length) continue;
    const x = new Float32Array(decoded.length * pixels);
    decoded.forEach((d, j) => x.set(d.rgb, j * pixels));
    const input4 = tf.tidy(() =>
      preprocessInput('xception', tf.tensor4d(x, [decoded.length, size, size, 3])),
    );
    let probs: Float32Array;
    let cam: ReturnType<typeof gradCam> | null = null;
    try {
      if (options.explainDir) {
        cam = gradCam(sm.model, input4);
        probs = cam.probs;
      } else {
        const out = sm.model.predict(input4) as tf.Tensor;
        probs = Float32Array.from(await out.data());
        out.dispose();
      }
    } finally {
      input4.dispose();
    }
    const nc = sm.classNames.length;
    for (let j = 0; j < decoded.length; j++) {
      const rel = decoded[j]!.rel.split(path.sep).join('/');
      const row = Array.from(probs.subarray(j * nc, (j + 1) * nc));
      const folder = listed.folder ? rel.split('/').slice(-2, -1)[0] : undefined;
      const image: PredictedImage = {
        file: rel,
        label: folder !== undefined && sm.classNames.includes(folder) ? folder : null,
        top: topK(row, sm.classNames, k),
        probabilities: row,
      };
      if (cam && options.explainDir) {
        const out = path.join(options.explainDir, overlayName(rel));
        check(cam.height === cam.width, 'map', 'expected a square Grad-CAM map');
        writeFileAtomic(
          out,
          await overlayPng(decoded[j]!.rgb, size, cam.maps[j]!, cam.height, side),
        );
        image.explanation = out;
      }
      images.push(image);
    }
  }
  const labelled = images.filter((im) => im.label !== null);
  const correct = labelled.filter((im) => im.top[0]!.className === im.label).length;
  return {
    input: typeof input === 'string' ? input : input.root,
    classNames: sm.classNames,
    images,
    skipped,
    accuracy: labelled.length
      ? { correct, n: labelled.length, interval: wilsonInterval(correct, labelled.length) }
      : null,
  };
}

/** The first `perStyle` test images of each style of the model's run (its manifest's order). */
export function testImagesPerStyle(
  sm: StudyModel,
  perStyle: number,
): { root: string; files: string[] } {
  check(
    Number.isInteger(perStyle) && perStyle >= 1,
    'perStyle',
    `expected an integer >= 1, got ${perStyle}`,
  );
  const manifest = limitPerClass(
    loadManifest(path.join(sm.runDir, 'prepare', 'manifest.json')),
    sm.config.maxImagesPerClass,
    sm.seed,
  );
  const files = sm.classNames.flatMap((cls) =>
    manifest.items
      .filter((it) => it.split === 'test' && it.class === cls)
      .slice(0, perStyle)
      .map((it) => it.path),
  );
  return { root: manifest.root, files };
}

/**
 * For each image: the image as the model saw it (with its style) and its Grad-CAM overlay (with
 * the prediction), side by side.
 */
export async function explanationFigure(
  sm: StudyModel,
  input: { root: string; files: string[] },
  options: { title?: string; cellSize?: number } = {},
): Promise<Figure> {
  const cells: ImageCell[] = [];
  const side = Math.max(sm.imageSize, 192);
  for (const rel of input.files) {
    const rgb = await decodeForModel(path.join(input.root, rel), sm.imageSize);
    const x = tf.tidy(() =>
      preprocessInput('xception', tf.tensor4d(rgb, [1, sm.imageSize, sm.imageSize, 3])),
    );
    let cam;
    try {
      cam = gradCam(sm.model, x);
    } finally {
      x.dispose();
    }
    const k = cam.classIndices[0]!;
    const style = rel.split('/').slice(-2, -1)[0] ?? '';
    const image = await sharp(Buffer.from(rgb), {
      raw: { width: sm.imageSize, height: sm.imageSize, channels: 3 },
    })
      .resize(side, side, { fit: 'fill', kernel: 'lanczos3' })
      .png()
      .toBuffer();
    cells.push({ png: image, label: style, sublabel: 'image' });
    cells.push({
      png: await overlayPng(rgb, sm.imageSize, cam.maps[0]!, cam.height, side),
      label: `→ ${sm.classNames[k]}`,
      sublabel: `p=${cam.probs[k]!.toFixed(2)}, Grad-CAM`,
    });
  }
  return imageGridFigure(cells, {
    columns: 4,
    title: options.title ?? 'Prediction and Grad-CAM heatmap per image',
    cellSize: options.cellSize ?? 130,
  });
}
