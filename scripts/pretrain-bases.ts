/**
 * Regenerates the bundled bases (data/bases/): reduced-width Xception and ResNet50 trained from a
 * fixed seed on the synthetic texture/shape source task, the offline stand-in for ImageNet
 * pretraining. Deterministic on the wasm backend (single-threaded): same seed, same weights.
 *
 *   npm run bases -- [--width 0.25] [--epochs 4] [--count 3000] [--seed 7] [--only xception|resnet50]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../lib/backend/select';
import { generateSourceTask } from '../lib/data/synth';
import { preprocessInput, recalibrateBatchNorm, type BackboneKind } from '../lib/models';
import { fileSystemHandler } from '../lib/models/fs-handler';
import { buildBase, bundledBaseDir, type BundledBaseInfo } from '../lib/pipeline/bases';
import { writeJsonAtomic } from '../lib/util/fs';
import { createProgress } from '../lib/util/progress';
import { Rng } from '../lib/util/rng';

/** Training sizes: the smallest inputs each architecture takes comfortably, to keep this minutes. */
const TRAIN_SIZE: Record<BackboneKind, number> = { xception: 72, resnet50: 64 };

async function trainBase(
  kind: BackboneKind,
  o: { width: number; epochs: number; count: number; seed: number; batchSize: number },
): Promise<void> {
  const size = TRAIN_SIZE[kind];
  const task = generateSourceTask({ seed: o.seed, count: o.count, size });
  const numClasses = task.classNames.length;
  const nVal = Math.round(o.count * 0.2);
  const nTrain = o.count - nVal;
  const pixels = size * size * 3;
  const base = buildBase({ kind, inputSize: size, widthMultiplier: o.width, seed: o.seed });
  const x = base.outputs[0] as tf.SymbolicTensor;
  const pooled = tf.layers
    .globalAveragePooling2d({ name: 'source_pool' })
    .apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: numClasses,
      activation: 'softmax',
      name: 'source_predictions',
      kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed }),
    })
    .apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: base.inputs, outputs: out });
  model.compile({
    optimizer: tf.train.adam(1e-3),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const batchOf = (indices: number[]): { xs: tf.Tensor4D; ys: tf.Tensor2D } =>
    tf.tidy(() => {
      const buf = new Float32Array(indices.length * pixels);
      indices.forEach((idx, i) =>
        buf.set(task.images.subarray(idx * pixels, (idx + 1) * pixels), i * pixels),
      );
      const xs = preprocessInput(kind, tf.tensor4d(buf, [indices.length, size, size, 3]));
      const ys = tf.oneHot(
        tf.tensor1d(
          indices.map((i) => task.labels[i] as number),
          'int32',
        ),
        numClasses,
      ) as tf.Tensor2D;
      return { xs, ys };
    });
  const rng = new Rng(o.seed).fork(`${kind}-order`);
  const trainIdx = Array.from({ length: nTrain }, (_, i) => i);
  const evaluate = (from: number, to: number): number => {
    let correct = 0;
    for (let s = from; s < to; s += 64) {
      const idx = Array.from({ length: Math.min(64, to - s) }, (_, i) => s + i);
      const { xs, ys } = batchOf(idx);
      const right = tf.tidy(
        () =>
          tf
            .sum(
              tf.cast(
                tf.equal(tf.argMax(model.predict(xs) as tf.Tensor, 1), tf.argMax(ys, 1)),
                'float32',
              ),
            )
            .dataSync()[0] as number,
      );
      xs.dispose();
      ys.dispose();
      correct += right;
    }
    return correct / (to - from);
  };
  const steps = Math.ceil(nTrain / o.batchSize);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    rng.shuffle(trainIdx);
    const bar = createProgress(`${kind} epoch ${epoch + 1}/${o.epochs}`, steps);
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const { xs, ys } = batchOf(trainIdx.slice(s * o.batchSize, (s + 1) * o.batchSize));
      const [loss] = (await model.trainOnBatch(xs, ys)) as number[];
      xs.dispose();
      ys.dispose();
      lossSum += loss as number;
      bar.update(s + 1, `loss ${(lossSum / (s + 1)).toFixed(3)}`);
    }
    bar.end();
  }
  // A few hundred steps leave BN's moving statistics far from the batch statistics the weights were
  // trained with; re-estimate them exactly over the training images before anything is measured.
  async function* trainingInputs(): AsyncGenerator<tf.Tensor> {
    for (let s = 0; s < nTrain; s += 64) {
      const { xs, ys } = batchOf(Array.from({ length: Math.min(64, nTrain - s) }, (_, i) => s + i));
      ys.dispose();
      yield xs;
      xs.dispose();
    }
  }
  const layers = await recalibrateBatchNorm(model, trainingInputs());
  console.log(`${kind}: recalibrated ${layers} batch-norm layers over ${nTrain} training images`);
  const trainAcc = evaluate(0, Math.min(nTrain, 600));
  const valAcc = evaluate(nTrain, o.count);
  console.log(
    `${kind}: source-task accuracy train ${(100 * trainAcc).toFixed(1)}%, validation ${(100 * valAcc).toFixed(1)}% (chance ${(100 / numClasses).toFixed(1)}%)`,
  );
  const dir = bundledBaseDir(kind, o.width);
  await base.save(fileSystemHandler(dir));
  const info: BundledBaseInfo = {
    kind,
    widthMultiplier: o.width,
    trainedInputSize: size,
    seed: o.seed,
    sourceTask: { classes: task.classNames, count: o.count, size, seed: o.seed },
    epochs: o.epochs,
    sourceAccuracy: trainAcc,
    sourceValAccuracy: valAcc,
    backend: tf.getBackend(),
    tfjsVersion: tf.version.tfjs,
  };
  writeJsonAtomic(path.join(dir, 'info.json'), info);
  console.log(`${kind}: saved to ${dir} (${fs.readdirSync(dir).join(', ')})`);
  model.dispose();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      width: { type: 'string', default: '0.25' },
      epochs: { type: 'string', default: '4' },
      count: { type: 'string', default: '3000' },
      seed: { type: 'string', default: '7' },
      batch: { type: 'string', default: '32' },
      only: { type: 'string' },
    },
  });
  await selectBackend({ force: process.env['ARTSTYLE_BACKEND'] ?? 'wasm' });
  const o = {
    width: Number(values.width),
    epochs: Number(values.epochs),
    count: Number(values.count),
    seed: Number(values.seed),
    batchSize: Number(values.batch),
  };
  const kinds: BackboneKind[] = values.only
    ? [values.only as BackboneKind]
    : ['xception', 'resnet50'];
  for (const kind of kinds) {
    const t0 = Date.now();
    await trainBase(kind, o);
    console.log(`${kind}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
