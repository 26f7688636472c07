import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchSource } from '../../lib/train/types';
import { Rng } from '../../lib/util/rng';
import { orderedWeights } from '../../lib/train/weights';
import { KerasBatchNormalization } from '../../lib/models/batch-norm';

/**
 * An in-memory BatchSource with the data module's contract: a few tiny images per class whose
 * colour depends on the class (so a small network learns something), shuffled and flipped
 * deterministically per (seed, epoch).
 */
export class MemorySource implements BatchSource {
  readonly size: number;
  readonly numClasses: number;
  readonly classNames: string[];
  readonly imageSize: number;
  private readonly images: Float32Array[];
  private readonly y: Int32Array;

  constructor(
    perClass: number[],
    imageSize: number,
    private readonly seed: number,
    private readonly augment: boolean,
  ) {
    this.numClasses = perClass.length;
    this.classNames = perClass.map((_, i) => `style${i}`);
    this.imageSize = imageSize;
    const rng = new Rng(seed);
    this.images = [];
    const labels: number[] = [];
    perClass.forEach((count, c) => {
      for (let i = 0; i < count; i++) {
        const img = new Float32Array(imageSize * imageSize * 3);
        for (let p = 0; p < imageSize * imageSize; p++) {
          const x = p % imageSize;
          for (let ch = 0; ch < 3; ch++) {
            const base = ch === c % 3 ? 170 : 60;
            const stripe = c >= 3 && x % 2 === 0 ? 50 : 0;
            img[p * 3 + ch] = Math.min(255, base + stripe + rng.normal() * 30);
          }
        }
        this.images.push(img);
        labels.push(c);
      }
    });
    this.y = Int32Array.from(labels);
    this.size = labels.length;
  }

  labels(): Int32Array {
    return this.y.slice();
  }

  async *batches(epoch: number, batchSize: number): AsyncIterable<Batch> {
    const order = Array.from({ length: this.size }, (_, i) => i);
    const rng = new Rng(this.seed).fork(`epoch-${epoch}`);
    if (this.augment) rng.shuffle(order);
    const s = this.imageSize;
    for (let start = 0; start < this.size; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      const x = new Float32Array(idx.length * s * s * 3);
      idx.forEach((k, j) => {
        const img = this.images[k]!;
        const flip = this.augment && rng.uniform() < 0.5;
        for (let r = 0; r < s; r++)
          for (let c = 0; c < s; c++) {
            const from = (r * s + (flip ? s - 1 - c : c)) * 3;
            const to = j * s * s * 3 + (r * s + c) * 3;
            x[to] = img[from]!;
            x[to + 1] = img[from + 1]!;
            x[to + 2] = img[from + 2]!;
          }
      });
      yield {
        x,
        labels: Int32Array.from(idx.map((k) => this.y[k]!)),
        ids: idx.map((k) => `img${k}`),
        n: idx.length,
        height: s,
        width: s,
      };
    }
  }
}

export interface TinyModelOptions {
  imageSize: number;
  numClasses: number;
  seed: number;
  dropout?: boolean;
}

/** conv -> BN -> conv -> BN -> pool -> dense(l2) -> dropout -> softmax, all seeded. */
export function buildTinyModel(o: TinyModelOptions): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: o.seed + k });
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [o.imageSize, o.imageSize, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
    }),
  );
  model.add(new KerasBatchNormalization());
  model.add(
    tf.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(2),
    }),
  );
  model.add(new KerasBatchNormalization());
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(
    tf.layers.dense({
      units: 8,
      activation: 'relu',
      kernelInitializer: init(3),
      kernelRegularizer: tf.regularizers.l2({ l2: 0.0075 }),
    }),
  );
  if (o.dropout !== false) model.add(tf.layers.dropout({ rate: 0.5, seed: 1 }));
  model.add(
    tf.layers.dense({ units: o.numClasses, activation: 'softmax', kernelInitializer: init(4) }),
  );
  return model;
}

/** The test stand-in for lib/models' setDropoutStep: a per-step seed for every dropout layer. */
export function setDropoutStep(model: tf.LayersModel, step: number): void {
  for (const layer of model.layers)
    if (layer.getClassName() === 'Dropout')
      (layer as unknown as { seed: number }).seed = 1000 + step;
}

/** Freezes the first n layers (the stand-in for freezeBlocks on the tiny model). */
export function freezeFirst(model: tf.LayersModel, n: number): void {
  model.layers.forEach((layer, i) => {
    layer.trainable = i >= n;
  });
}

/** Scale 0..255 to [-1, 1] as Xception's preprocessing does. */
export function scale(x: tf.Tensor4D): tf.Tensor4D {
  return tf.sub(tf.div(x, 127.5), 1) as tf.Tensor4D;
}

export function weightValues(model: tf.LayersModel): Float32Array[] {
  return orderedWeights(model).map((w) => w.variable.read().dataSync() as Float32Array);
}

export function silentLog(): ((line: string) => void) & { lines: string[] } {
  const lines: string[] = [];
  const f = ((line: string) => {
    lines.push(line);
  }) as ((line: string) => void) & { lines: string[] };
  f.lines = lines;
  return f;
}
