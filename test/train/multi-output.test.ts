import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../lib/backend/select';
import { fit } from '../../lib/train/fit';
import { multiOutputStep, type OutputLoss } from '../../lib/train/multi-output';
import { perSampleBinaryCrossEntropy } from '../../lib/train/losses';
import type { Batch, BatchSource } from '../../lib/train/types';
import { ArtstyleError } from '../../lib/util/errors';
import { Rng } from '../../lib/util/rng';
import { tempDir } from '../tmp';

/**
 * The multi-output step on the trainer equals tfjs's own `LayersModel.trainOnBatch` bit for bit
 * (Adam, three heads: two softmax, one sigmoid with soft targets, L2 on two heads, batch norm), so
 * that scripts/pretrain-bases.ts trains the bundled bases exactly as it did with trainOnBatch.
 */

const SIZE = 8;
const N = 12;
const HEADS = [
  { units: 3, kind: 'categoricalCrossentropy' },
  { units: 2, kind: 'categoricalCrossentropy' },
  { units: 4, kind: 'binaryCrossentropy' },
] as const;

interface Data {
  images: Float32Array;
  labels: Int32Array[];
  soft: Float32Array;
}

function makeData(seed: number): Data {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: N * SIZE * SIZE * 3 }, () => rng.uniform() * 255);
  const labels = [3, 2].map((k) =>
    Int32Array.from({ length: N }, () => Math.floor(rng.uniform() * k)),
  );
  const soft = Float32Array.from({ length: N * 4 }, () => rng.uniform());
  return { images, labels, soft };
}

/** Shuffled per epoch; `labels` of a batch are head 0's classes; ids are the image indices. */
function source(d: Data, seed: number, from: number, to: number): BatchSource {
  const ids = Array.from({ length: to - from }, (_, i) => from + i);
  const px = SIZE * SIZE * 3;
  return {
    size: ids.length,
    numClasses: 3,
    classNames: ['a', 'b', 'c'],
    imageSize: SIZE,
    labels: () => Int32Array.from(ids.map((i) => d.labels[0]![i]!)),
    async *batches(epoch: number, batchSize: number) {
      const order = ids.slice();
      new Rng(seed).fork(`epoch-${epoch}`).shuffle(order);
      for (let s = 0; s < order.length; s += batchSize) {
        const idx = order.slice(s, s + batchSize);
        const x = new Float32Array(idx.length * px);
        idx.forEach((k, j) => x.set(d.images.subarray(k * px, (k + 1) * px), j * px));
        const b: Batch = {
          x,
          labels: Int32Array.from(idx.map((k) => d.labels[0]![k]!)),
          ids: idx.map(String),
          n: idx.length,
          height: SIZE,
          width: SIZE,
        };
        yield b;
      }
    },
  };
}

function targets(d: Data, batch: Batch): tf.Tensor2D[] {
  const idx = batch.ids.map(Number);
  return tf.tidy(() => [
    tf.oneHot(
      tf.tensor1d(
        idx.map((k) => d.labels[0]![k]!),
        'int32',
      ),
      3,
    ) as tf.Tensor2D,
    tf.oneHot(
      tf.tensor1d(
        idx.map((k) => d.labels[1]![k]!),
        'int32',
      ),
      2,
    ) as tf.Tensor2D,
    tf.tensor2d(
      idx.flatMap((k) => Array.from(d.soft.subarray(k * 4, (k + 1) * 4))),
      [idx.length, 4],
    ),
  ]);
}

/** conv -> BN -> relu -> pool -> three dense heads (L2 on the first two), all seeded. */
function buildModel(seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(0) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const outputs = HEADS.map(
    (h, j) =>
      tf.layers
        .dense({
          units: h.units,
          activation: h.kind === 'binaryCrossentropy' ? 'sigmoid' : 'softmax',
          kernelInitializer: init(1 + j),
          ...(j < 2 ? { kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) } : {}),
        })
        .apply(pooled) as tf.SymbolicTensor,
  );
  return tf.model({ inputs: input, outputs });
}

const scale = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.sub(tf.div(x, 127.5), 1));

async function weightsOf(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.weights.map(async (w) => (await w.read().data()) as Float32Array));
}

const EPOCHS = 2;
const BATCH = 5; // 10 training images: batches of 5 and 5

/** The reference: tfjs's compile + trainOnBatch over the same batches. */
async function withTrainOnBatch(d: Data): Promise<{ weights: Float32Array[]; losses: number[] }> {
  const model = buildModel(3);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: HEADS.map((h) => h.kind) });
  const train = source(d, 5, 0, 10);
  const losses: number[] = [];
  for (let e = 0; e < EPOCHS; e++)
    for await (const b of train.batches(e, BATCH)) {
      const xs = scale(tf.tensor4d(b.x, [b.n, SIZE, SIZE, 3]));
      const ys = targets(d, b);
      const out = await model.trainOnBatch(xs, ys);
      tf.dispose([xs, ...ys]);
      losses.push((out as number[])[0]!);
    }
  const weights = await weightsOf(model);
  model.dispose();
  return { weights, losses };
}

async function withFit(
  d: Data,
  losses: OutputLoss[],
): Promise<{ weights: Float32Array[]; losses: number[]; initial: Float32Array[] }> {
  const model = buildModel(3);
  const initial = await weightsOf(model);
  const seen: number[] = [];
  const r = await fit(
    {
      model,
      optimizer: { kind: 'adam', lr: 1e-3 },
      trainSource: source(d, 5, 0, 10),
      valSource: source(d, 5, 10, N),
      epochs: EPOCHS,
      batchSize: BATCH,
      seed: 5,
      outDir: tempDir('artstyle-multi-'),
      preprocess: scale,
      trainStep: multiOutputStep({ losses, targets: (b) => targets(d, b) }),
      log: null,
    },
    [{ afterBatch: (_run, b) => void seen.push(b.loss) }],
  );
  assert.equal(r.status, 'completed');
  const weights = await weightsOf(model);
  model.dispose();
  return { weights, losses: seen, initial };
}

const LOSSES: OutputLoss[] = HEADS.map((h) => ({ kind: h.kind }));

for (const backend of ['wasm', 'cpu'] as const) {
  test(`on ${backend}, fit with the multi-output step equals trainOnBatch bit for bit (Adam, 3 heads)`, async () => {
    await selectBackend({ force: backend, log: null });
    const d = makeData(11);
    const ref = await withTrainOnBatch(d);
    const got = await withFit(d, LOSSES);
    assert.equal(got.losses.length, EPOCHS * 2);
    assert.deepEqual(got.losses, ref.losses, 'the same loss at every step');
    assert.equal(got.weights.length, ref.weights.length);
    got.weights.forEach((w, i) => {
      assert.ok(
        Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(
          Buffer.from(
            ref.weights[i]!.buffer,
            ref.weights[i]!.byteOffset,
            ref.weights[i]!.byteLength,
          ),
        ),
        `weight ${i} identical`,
      );
    });
    // Not trivially equal: training moved every kernel.
    assert.ok(got.weights.some((w, i) => w.some((v, j) => v !== got.initial[i]![j])));
  });
}

test('a head weight changes the update; weight 1 is the same as none', async () => {
  await selectBackend({ force: 'cpu', log: null });
  const d = makeData(11);
  const plain = await withFit(d, LOSSES);
  const ones = await withFit(
    d,
    LOSSES.map((l) => ({ ...l, weight: 1 })),
  );
  assert.deepEqual(ones.weights, plain.weights);
  const heavier = await withFit(
    d,
    LOSSES.map((l, i) => ({ ...l, weight: i === 2 ? 3 : 1 })),
  );
  assert.notDeepEqual(heavier.weights, plain.weights);
  assert.ok((heavier.losses[0] as number) > (plain.losses[0] as number));
});

test('binary cross-entropy matches tfjs-layers binaryCrossentropy on soft targets', () => {
  const y = tf.tensor2d([0.2, 0.9, 0, 1, 0.5, 0.5], [2, 3]);
  const p = tf.tensor2d([0.1, 0.8, 1e-9, 1, 0.5, 0.3], [2, 3]);
  const ours = perSampleBinaryCrossEntropy(y, p).arraySync();
  const theirs = tf.metrics.binaryCrossentropy(y, p).arraySync();
  assert.deepEqual(ours, theirs);
  tf.dispose([y, p]);
});

test('bad losses are errors naming the option', () => {
  const codeOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ArtstyleError, String(e));
      return e.subject ?? '';
    }
    return 'no error';
  };
  const t = () => [];
  assert.equal(
    codeOf(() => multiOutputStep({ losses: [], targets: t })),
    'losses',
  );
  assert.equal(
    codeOf(() =>
      multiOutputStep({ losses: [{ kind: 'mse' as 'binaryCrossentropy' }], targets: t }),
    ),
    'losses[0].kind',
  );
  assert.equal(
    codeOf(() =>
      multiOutputStep({ losses: [{ kind: 'binaryCrossentropy', weight: -1 }], targets: t }),
    ),
    'losses[0].weight',
  );
});
