import * as tf from '@tensorflow/tfjs';
import { KerasBatchNormalization } from '../../lib/models/batch-norm';
import { SeededDropout, setDropoutStep } from '../../lib/models/seeded-dropout';
import { train, type TrainResult } from '../../lib/train/loop';
import { MemorySource, scale } from './fixtures';

/** Shared by the parallel-step tests and their child process (child-parallel.ts). */
export const SIZE = 8;
export const CLASSES = 3;

/** conv -> BN -> relu -> depthwise -> BN -> relu -> GAP -> dense(l2) -> seeded dropout -> softmax. */
export function buildParallelNet(): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 7 + k });
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  let x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(1), name: 'c1' })
    .apply(input) as tf.SymbolicTensor;
  x = new KerasBatchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .separableConv2d({
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      depthwiseInitializer: init(2),
      pointwiseInitializer: init(3),
      name: 's1',
    })
    .apply(x) as tf.SymbolicTensor;
  x = new KerasBatchNormalization({ name: 'bn2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({
      units: 10,
      activation: 'relu',
      kernelInitializer: init(4),
      kernelRegularizer: tf.regularizers.l2({ l2: 0.0075 }),
    })
    .apply(x) as tf.SymbolicTensor;
  x = new SeededDropout({ rate: 0.5, seed: 3 }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(5) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/**
 * Three epochs of batch 4 in micro-batches of 2, on `threads` worker threads chosen by the
 * trainer itself (lib/train/fit.ts); `hangAt` [epoch, batch] waits to be killed.
 */
export async function parallelTrainScenario(
  outDir: string,
  threads: number,
  hangAt?: [number, number],
): Promise<TrainResult> {
  const model = buildParallelNet();
  try {
    return await train({
      model,
      optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
      trainSource: new MemorySource([6, 5, 5], SIZE, 21, true),
      valSource: new MemorySource([3, 3, 3], SIZE, 22, false),
      epochs: 3,
      batchSize: 4,
      outDir,
      seed: 9,
      preprocess: scale,
      setDropoutStep,
      log: null,
      microBatch: 2,
      threads,
      callbacks: {
        async onBatchEnd(epoch, batch) {
          if (hangAt && hangAt[0] === epoch && hangAt[1] === batch) {
            process.stdout.write('HANG\n');
            await new Promise(() => setInterval(() => undefined, 1000));
          }
        },
      },
    });
  } finally {
    model.dispose();
  }
}
