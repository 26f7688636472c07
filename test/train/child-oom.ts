/**
 * Run by the out-of-memory test in a separate process (a wasm heap that ran out leaves the wasm
 * module unusable for the rest of the process): a small run that fits, then a run whose first
 * batch cannot fit the 4 GiB wasm heap, each in its own folder under <outDir>. Prints one JSON line
 * with the error the second run ended with.
 * Usage: node child-oom.js <outDir>
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../lib/backend/select';
import { train } from '../../lib/train/loop';
import type { Batch, BatchSource } from '../../lib/train/types';
import { ArtstyleError } from '../../lib/util/errors';

/** `size` images of zeros (two classes): cheap to make at any size. */
function zeros(size: number, imageSize: number): BatchSource {
  return {
    size,
    numClasses: 2,
    classNames: ['a', 'b'],
    imageSize,
    labels: () => Int32Array.from({ length: size }, (_, i) => i % 2),
    async *batches(_epoch: number, batchSize: number): AsyncIterable<Batch> {
      for (let start = 0; start < size; start += batchSize) {
        const n = Math.min(batchSize, size - start);
        yield {
          x: new Float32Array(n * imageSize * imageSize * 3),
          labels: Int32Array.from({ length: n }, (_, i) => (start + i) % 2),
          ids: Array.from({ length: n }, (_, i) => `img${start + i}`),
          n,
          height: imageSize,
          width: imageSize,
        };
      }
    },
  };
}

/** One wide convolution: 250 channels of 512 x 512 floats per image is 250 MiB. */
function wideNet(imageSize: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [imageSize, imageSize, 3],
      filters: 250,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
  return model;
}

async function run(
  dir: string,
  imageSize: number,
  batchSize: number,
  microBatch: number,
): Promise<void> {
  const model = wideNet(imageSize);
  try {
    await train({
      model,
      optimizer: { kind: 'sgd', lr: 0.01 },
      trainSource: zeros(batchSize, imageSize),
      valSource: zeros(2, imageSize),
      epochs: 1,
      batchSize,
      microBatch,
      outDir: dir,
      seed: 1,
      label: path.basename(dir),
      log: null,
    });
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const outDir = process.argv[2]!;
  await selectBackend({ force: 'wasm', log: null });
  await run(path.join(outDir, 'small'), 16, 4, 4);
  try {
    // 16 x 512 x 512 x 250 floats (3.9 GiB) in one tensor: the heap cannot grow that far, so the
    // step fails at its first convolution without filling memory first.
    await run(path.join(outDir, 'huge'), 512, 16, 16);
    process.stdout.write(JSON.stringify({ error: null }) + '\n');
  } catch (e) {
    const err = e as ArtstyleError;
    process.stdout.write(
      JSON.stringify({
        error: { name: err.name, code: err.code, subject: err.subject, message: err.message },
      }) + '\n',
    );
  }
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
