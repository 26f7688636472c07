/**
 * Regenerates the bundled bases (data/bases/): reduced-width Xception and ResNet50 trained from a
 * fixed seed on a synthetic source task, the offline stand-in for ImageNet pretraining: object
 * photographs for Xception, textures and shapes for ResNet50 (see DEFAULTS). Deterministic on the
 * wasm backend (single-threaded): same seed and options, same weights.
 *
 *   npm run bases -- [--only xception|resnet50] [--task objects|textures] [--width 0.25]
 *                    [--epochs N] [--count N] [--seed 7] [--batch 32] [--out DIR]
 *
 * Trained with the project's trainer (`fit` of lib/train/fit.ts with the multi-output step of
 * lib/train/multi-output.ts, Adam 1e-3): the update tfjs's `compile` + `trainOnBatch` made when the
 * committed bases were trained, bit for bit. `--out DIR` writes DIR/<kind>-w<width>/ instead of
 * data/bases/ (to compare a run with the committed bases). Ctrl-C stops at a batch boundary; the
 * same command again resumes after the last complete epoch (checkpoints in runDir below), to the
 * same bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../lib/backend/select';
import { generateSourceTask } from '../lib/data/synth';
import {
  generateObjectTask,
  OBJECT_ATTRIBUTE_NAMES,
  OBJECT_CLASSES,
  OBJECT_HEADS,
} from '../lib/data/synth/object-task';
import { preprocessInput, recalibrateBatchNorm, type BackboneKind } from '../lib/models';
import { fileSystemHandler } from '../lib/models/fs-handler';
import {
  buildBase,
  bundledBaseDir,
  bundledBasesDir,
  type BundledBaseInfo,
} from '../lib/pipeline/bases';
import { folderLock, stopOnCtrlC } from '../lib/train/callbacks';
import { fit, type FitCallback } from '../lib/train/fit';
import { multiOutputStep } from '../lib/train/multi-output';
import { checkpoints } from '../lib/train/resume';
import type { Batch, BatchSource } from '../lib/train/types';
import { ArtstyleError } from '../lib/util/errors';
import { writeJsonAtomic } from '../lib/util/fs';
import { createProgress, type Progress } from '../lib/util/progress';
import { Rng } from '../lib/util/rng';

/** Training sizes: the smallest inputs each architecture takes comfortably, to keep this minutes. */
const TRAIN_SIZE: Record<BackboneKind, number> = { xception: 72, resnet50: 64 };

type TaskName = 'textures' | 'objects';

/**
 * Per architecture, the source task and its size. Xception (study 1, sculpture styles) learns
 * from object photographs; the texture task is colour-blind by construction and left its style
 * classifier near 25% (see object-task.ts). ResNet50 (study 2, genre features) keeps the texture
 * task its committed weights were trained on.
 */
const DEFAULTS: Record<BackboneKind, { task: TaskName; count: number; epochs: number }> = {
  xception: { task: 'objects', count: 6000, epochs: 5 },
  resnet50: { task: 'textures', count: 2400, epochs: 4 },
};

interface Head {
  name: string;
  /** Class names for a softmax head; empty for the regressed attributes (sigmoid, soft targets). */
  classes: string[];
  units: number;
  /** Per image: the class index, or `units` values in [0, 1]. */
  target(i: number): number | ArrayLike<number>;
}

interface SourceData {
  images: Float32Array;
  heads: Head[];
  attributes: string[];
}

function sourceData(task: TaskName, seed: number, count: number, size: number): SourceData {
  if (task === 'textures') {
    const t = generateSourceTask({ seed, count, size });
    return {
      images: t.images,
      attributes: [],
      heads: [
        {
          name: 'texture',
          classes: t.classNames,
          units: t.classNames.length,
          target: (i) => t.labels[i] as number,
        },
      ],
    };
  }
  const t = generateObjectTask({ seed, count, size });
  const nAttr = OBJECT_ATTRIBUTE_NAMES.length;
  return {
    images: t.images,
    attributes: [...OBJECT_ATTRIBUTE_NAMES],
    heads: [
      ...OBJECT_HEADS.map(
        (h): Head => ({
          name: h,
          classes: [...OBJECT_CLASSES[h]],
          units: OBJECT_CLASSES[h].length,
          target: (i) => t.labels[h][i] as number,
        }),
      ),
      {
        name: 'attributes',
        classes: [],
        units: nAttr,
        target: (i) => t.attributes.subarray(i * nAttr, (i + 1) * nAttr),
      },
    ],
  };
}

interface BaseOptions {
  width: number;
  epochs: number;
  count: number;
  seed: number;
  batchSize: number;
  task: TaskName;
  /** Folder for <kind>-w<width>/; undefined = data/bases/. */
  out: string | undefined;
}

/** Where a base is written: data/bases/<kind>-w<width>/, or under `--out`. */
function baseDir(kind: BackboneKind, o: BaseOptions): string {
  return o.out === undefined
    ? bundledBaseDir(kind, o.width)
    : path.join(o.out, `${kind}-w${o.width}`);
}

/**
 * The training run's folder (lock and a checkpoint after each epoch): an interrupted run continues
 * there after its last complete epoch. data/generated/bases-run/<kind>-w<width>/ (not committed),
 * or DIR/.run/<kind>-w<width>/ with `--out DIR`; removed once the base is saved.
 */
function runDir(kind: BackboneKind, o: BaseOptions): string {
  const root =
    o.out === undefined
      ? path.join(path.dirname(bundledBasesDir()), 'generated', 'bases-run')
      : path.join(o.out, '.run');
  return path.join(root, `${kind}-w${o.width}`);
}

/** Raw 0..255 pixels of the images `indices`, one after another (NHWC). */
function pixelsOf(data: SourceData, indices: number[], size: number): Float32Array {
  const pixels = size * size * 3;
  const buf = new Float32Array(indices.length * pixels);
  indices.forEach((idx, i) =>
    buf.set(data.images.subarray(idx * pixels, (idx + 1) * pixels), i * pixels),
  );
  return buf;
}

/** Per head, the targets of the images `indices`: one-hot class or the attribute values. */
function targetsOf(data: SourceData, indices: number[]): tf.Tensor2D[] {
  return data.heads.map((h) => {
    const y = new Float32Array(indices.length * h.units);
    indices.forEach((idx, i) => {
      const t = h.target(idx);
      if (typeof t === 'number') y[i * h.units + t] = 1;
      else y.set(t, i * h.units);
    });
    return tf.tensor2d(y, [indices.length, h.units]);
  });
}

/**
 * The task's images `items` as the trainer's batch source: `order(epoch)` gives them in an
 * epoch's order (default: as listed); a batch's ids are the image indices (the step reads the heads' targets through them) and
 * its labels are the first head's classes (the trainer's accuracy).
 */
function taskSource(
  data: SourceData,
  size: number,
  items: number[],
  order: (epoch: number) => number[] = () => items,
): BatchSource {
  const first = data.heads[0]!;
  const label = (idx: number): number => first.target(idx) as number;
  return {
    size: items.length,
    numClasses: first.units,
    classNames: first.classes,
    imageSize: size,
    labels: () => Int32Array.from(items, label),
    async *batches(epoch: number, batchSize: number): AsyncIterable<Batch> {
      const idx = order(epoch);
      for (let s = 0; s < idx.length; s += batchSize) {
        const b = idx.slice(s, s + batchSize);
        const x = pixelsOf(data, b, size);
        yield {
          x,
          labels: Int32Array.from(b, label),
          ids: b.map(String),
          n: b.length,
          height: size,
          width: size,
        };
      }
    },
  };
}

/** The base with a pooled dense head per task head (softmax for classes, sigmoid for attributes). */
function sourceModel(kind: BackboneKind, data: SourceData, size: number, o: BaseOptions) {
  const base = buildBase({ kind, inputSize: size, widthMultiplier: o.width, seed: o.seed });
  const x = base.outputs[0] as tf.SymbolicTensor;
  const pooled = tf.layers
    .globalAveragePooling2d({ name: 'source_pool' })
    .apply(x) as tf.SymbolicTensor;
  const outputs = data.heads.map(
    (h, j) =>
      tf.layers
        .dense({
          units: h.units,
          activation: h.classes.length > 0 ? 'softmax' : 'sigmoid',
          name: `source_${h.name}`,
          kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + j }),
        })
        .apply(pooled) as tf.SymbolicTensor,
  );
  return { base, model: tf.model({ inputs: base.inputs, outputs }) };
}

/** A bar per epoch with the mean of the batch losses so far, as before the trainer. */
function lossBar(kind: string): FitCallback {
  let bar: Progress | null = null;
  let lossSum = 0;
  return {
    beforeEpoch(run) {
      const steps = Math.ceil(run.spec.trainSource.size / run.spec.batchSize);
      bar = createProgress(`${kind} epoch ${run.epoch + 1}/${run.spec.epochs}`, steps);
      lossSum = 0;
    },
    afterBatch(_run, b) {
      lossSum += b.loss;
      bar?.update(b.batch + 1, `loss ${(lossSum / (b.batch + 1)).toFixed(3)}`);
    },
    afterEpoch() {
      bar?.end();
      bar = null;
    },
    afterFit() {
      bar?.end('stopped');
      bar = null;
    },
  };
}

/**
 * Trains on the first `nTrain` images with `fit`: Adam 1e-3, one loss per head (categorical
 * cross-entropy for classes; binary cross-entropy for the attributes in [0, 1], soft binary targets
 * on the scale of the class heads' loss), the order reshuffled each epoch from the seed.
 */
async function trainOnTask(
  kind: BackboneKind,
  model: tf.LayersModel,
  data: SourceData,
  size: number,
  o: BaseOptions,
): Promise<void> {
  const nVal = Math.round(o.count * 0.2);
  const nTrain = o.count - nVal;
  /** Epoch e's order: the seeded shuffle applied e + 1 times to 0..nTrain-1. */
  const trainOrder = (epoch: number): number[] => {
    const rng = new Rng(o.seed).fork(`${kind}-order`);
    const idx = Array.from({ length: nTrain }, (_, i) => i);
    for (let e = 0; e <= epoch; e++) rng.shuffle(idx);
    return idx;
  };
  const train = Array.from({ length: nTrain }, (_, i) => i);
  const held = Array.from({ length: nVal }, (_, i) => nTrain + i);
  const result = await fit(
    {
      model,
      optimizer: { kind: 'adam', lr: 1e-3 },
      trainSource: taskSource(data, size, train, trainOrder),
      valSource: taskSource(data, size, held),
      epochs: o.epochs,
      batchSize: o.batchSize,
      seed: o.seed,
      outDir: runDir(kind, o),
      preprocess: (x) => preprocessInput(kind, x),
      trainStep: multiOutputStep({
        losses: data.heads.map((h) => ({
          kind: h.classes.length > 0 ? 'categoricalCrossentropy' : 'binaryCrossentropy',
        })),
        targets: (batch) => targetsOf(data, batch.ids.map(Number)),
      }),
      label: kind,
    },
    [
      folderLock(),
      stopOnCtrlC(),
      checkpoints({ script: 'pretrain-bases', kind, task: o.task, count: o.count, width: o.width }),
      lossBar(kind),
    ],
  );
  // fit said how to resume (the same command again).
  if (result.status !== 'completed')
    throw new ArtstyleError('interrupted', `${kind}: interrupted; nothing saved yet`);
}

/** Accuracy per class head and the attributes' mean absolute error, over images from..to. */
function evaluate(
  model: tf.LayersModel,
  data: SourceData,
  batchOf: (indices: number[]) => { xs: tf.Tensor4D; ys: tf.Tensor2D[] },
  from: number,
  to: number,
): Record<string, number> {
  const sums = new Array<number>(data.heads.length).fill(0);
  for (let s = from; s < to; s += 64) {
    const idx = Array.from({ length: Math.min(64, to - s) }, (_, i) => s + i);
    const { xs, ys } = batchOf(idx);
    const preds = model.predict(xs) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(preds) ? preds : [preds];
    data.heads.forEach((h, j) => {
      const p = list[j] as tf.Tensor2D;
      const y = ys[j] as tf.Tensor2D;
      sums[j] =
        (sums[j] as number) +
        tf.tidy(() =>
          h.classes.length > 0
            ? (tf
                .sum(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(y, 1)), 'float32'))
                .dataSync()[0] as number)
            : (tf.sum(tf.mean(tf.abs(tf.sub(p, y)), 1)).dataSync()[0] as number),
        );
    });
    tf.dispose([xs, ...ys, ...list]);
  }
  const out: Record<string, number> = {};
  data.heads.forEach((h, j) => {
    out[h.classes.length > 0 ? h.name : `${h.name} (mean absolute error)`] =
      (sums[j] as number) / (to - from);
  });
  return out;
}

async function trainBase(kind: BackboneKind, o: BaseOptions): Promise<void> {
  const size = TRAIN_SIZE[kind];
  const t0 = Date.now();
  const data = sourceData(o.task, o.seed, o.count, size);
  console.log(
    `${kind}: ${o.count} ${o.task} images at ${size} px in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  const nTrain = o.count - Math.round(o.count * 0.2);
  const { base, model } = sourceModel(kind, data, size, o);
  await trainOnTask(kind, model, data, size, o);
  const batchOf = (indices: number[]): { xs: tf.Tensor4D; ys: tf.Tensor2D[] } =>
    tf.tidy(() => ({
      xs: preprocessInput(
        kind,
        tf.tensor4d(pixelsOf(data, indices, size), [indices.length, size, size, 3]),
      ),
      ys: targetsOf(data, indices),
    }));
  // A few hundred steps leave BN's moving statistics far from the batch statistics the weights were
  // trained with; re-estimate them exactly over the training images before anything is measured.
  async function* trainingInputs(): AsyncGenerator<tf.Tensor> {
    for (let s = 0; s < nTrain; s += 64) {
      const { xs, ys } = batchOf(Array.from({ length: Math.min(64, nTrain - s) }, (_, i) => s + i));
      tf.dispose(ys);
      yield xs;
      xs.dispose();
    }
  }
  const layers = await recalibrateBatchNorm(model, trainingInputs());
  console.log(`${kind}: recalibrated ${layers} batch-norm layers over ${nTrain} training images`);
  const train = evaluate(model, data, batchOf, 0, Math.min(nTrain, 600));
  const val = evaluate(model, data, batchOf, nTrain, o.count);
  await saveBase(kind, base, data, o, train, val);
  // Saved: a later run with other code must not continue from this checkpoint.
  const run = runDir(kind, o);
  fs.rmSync(run, { recursive: true, force: true });
  if (fs.readdirSync(path.dirname(run)).length === 0) fs.rmdirSync(path.dirname(run));
  model.dispose();
}

async function saveBase(
  kind: BackboneKind,
  base: tf.LayersModel,
  data: SourceData,
  o: BaseOptions,
  train: Record<string, number>,
  val: Record<string, number>,
): Promise<void> {
  const size = TRAIN_SIZE[kind];
  const meanAccuracy = (r: Record<string, number>): number => {
    const acc = data.heads.filter((h) => h.classes.length > 0).map((h) => r[h.name] as number);
    return acc.reduce((a, b) => a + b, 0) / acc.length;
  };
  const fmt = (r: Record<string, number>): string =>
    Object.entries(r)
      .map(([k, v]) =>
        k.includes('error') ? `${k} ${v.toFixed(3)}` : `${k} ${(100 * v).toFixed(1)}%`,
      )
      .join(', ');
  console.log(`${kind}: source task, training images: ${fmt(train)}`);
  console.log(`${kind}: source task, held-out images: ${fmt(val)}`);
  const dir = baseDir(kind, o);
  await base.save(fileSystemHandler(dir));
  const heads: Record<string, string[]> = {};
  for (const h of data.heads) if (h.classes.length > 0) heads[h.name] = h.classes;
  const info: BundledBaseInfo = {
    kind,
    widthMultiplier: o.width,
    trainedInputSize: size,
    seed: o.seed,
    sourceTask: {
      name: o.task,
      heads,
      attributes: data.attributes,
      count: o.count,
      size,
      seed: o.seed,
    },
    epochs: o.epochs,
    sourceAccuracy: meanAccuracy(train),
    sourceValAccuracy: meanAccuracy(val),
    sourceValDetail: val,
    backend: tf.getBackend(),
    tfjsVersion: tf.version.tfjs,
  };
  writeJsonAtomic(path.join(dir, 'info.json'), info);
  console.log(`${kind}: saved to ${dir} (${fs.readdirSync(dir).join(', ')})`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      width: { type: 'string', default: '0.25' },
      epochs: { type: 'string' },
      count: { type: 'string' },
      task: { type: 'string' },
      seed: { type: 'string', default: '7' },
      batch: { type: 'string', default: '32' },
      only: { type: 'string' },
      out: { type: 'string' },
    },
  });
  await selectBackend({ force: process.env['ARTSTYLE_BACKEND'] ?? 'wasm' });
  if (values.only !== undefined && !['xception', 'resnet50'].includes(values.only))
    throw new Error(`--only: expected xception or resnet50, got ${values.only}`);
  if (values.task !== undefined && !['textures', 'objects'].includes(values.task))
    throw new Error(`--task: expected textures or objects, got ${values.task}`);
  const kinds: BackboneKind[] = values.only
    ? [values.only as BackboneKind]
    : ['xception', 'resnet50'];
  for (const kind of kinds) {
    const d = DEFAULTS[kind];
    const o: BaseOptions = {
      width: Number(values.width),
      epochs: Number(values.epochs ?? d.epochs),
      count: Number(values.count ?? d.count),
      seed: Number(values.seed),
      batchSize: Number(values.batch),
      task: (values.task as TaskName | undefined) ?? d.task,
      out: values.out,
    };
    const t0 = Date.now();
    await trainBase(kind, o);
    console.log(`${kind}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
