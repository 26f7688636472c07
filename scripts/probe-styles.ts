/**
 * A quick reading of how hard a sculpture data set is for a base: the base's pooled features of
 * every image (frozen, 96 px), then a softmax regression on the training split, scored on the
 * validation split (the studies' 60/20/20 split per style, seed 42). It takes seconds where
 * notebook 02 takes minutes, and tracks notebook 02's validation accuracy, so it is the tool for
 * calibrating the bundled data (data/README.md) or judging a new base; it is not a study step.
 *   npm run probe -- [--sculptures DIR] [--size 96] [--width 0.25]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../lib/backend/select';
import { scanImageFolder } from '../lib/data/imageFolder';
import { decodeAndResize } from '../lib/data/resizePolicy';
import { stratifiedSplit } from '../lib/data/split';
import { preprocessInput } from '../lib/models';
import { loadBase } from '../lib/pipeline/bases';
import { projectRoot } from '../lib/pipeline/params';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sculptures: {
        type: 'string',
        default: path.join(projectRoot(), 'data', 'generated', 'teaching', 'sculptures'),
      },
      size: { type: 'string', default: '96' },
      width: { type: 'string', default: '0.25' },
    },
  });
  const size = Number(values.size);
  await selectBackend({ force: process.env['ARTSTYLE_BACKEND'] ?? 'wasm', log: null });
  const folder = await scanImageFolder(values.sculptures);
  const items = stratifiedSplit(folder.images, folder.classNames, 42);
  const base = await loadBase(
    { kind: 'xception', inputSize: size, widthMultiplier: Number(values.width) },
    { log: null },
  );
  const feats: number[][] = [];
  for (let s = 0; s < items.length; s += 32) {
    const batch = items.slice(s, s + 32);
    // The pipeline's own decode and resize policy (EXIF, alpha on white, sRGB, lanczos3).
    const pixels = await Promise.all(
      batch.map(async (it) =>
        decodeAndResize(await fs.promises.readFile(path.join(folder.root, it.path)), { size }),
      ),
    );
    const flat = new Float32Array(batch.length * size * size * 3);
    pixels.forEach((p, i) => flat.set(p, i * size * size * 3));
    const x = tf.tidy(() => {
      const input = tf.tensor4d(flat, [batch.length, size, size, 3]);
      return tf.mean(base.model.predict(preprocessInput('xception', input)) as tf.Tensor4D, [1, 2]);
    });
    feats.push(...(x.arraySync() as number[][]));
    x.dispose();
  }
  base.model.dispose();
  const ids = (split: string): number[] =>
    items.map((it, i) => (it.split === split ? i : -1)).filter((i) => i >= 0);
  const train = ids('train');
  const val = ids('val');
  const label = (i: number): number =>
    folder.classNames.indexOf((items[i] as { class: string }).class);
  const X = tf.tensor2d(feats);
  const mean = X.mean(0);
  const sd = X.sub(mean).square().mean(0).sqrt().add(1e-6);
  const Xn = X.sub(mean).div(sd);
  const xt = tf.gather(Xn, train);
  const yt = tf.oneHot(tf.tensor1d(train.map(label), 'int32'), folder.classNames.length);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [(feats[0] as number[]).length],
        units: folder.classNames.length,
        activation: 'softmax',
        kernelRegularizer: tf.regularizers.l2({ l2: 0.001 }),
        kernelInitializer: 'zeros',
      }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  // Not shuffled, one seedless pass order: the same features always give the same probe.
  await model.fit(xt, yt, { epochs: 100, batchSize: 64, verbose: 0, shuffle: false });
  const accuracy = (rows: number[]): number => {
    const pred = tf
      .tidy(() => (model.predict(tf.gather(Xn, rows)) as tf.Tensor2D).argMax(1))
      .arraySync() as number[];
    return pred.filter((p, i) => p === label(rows[i] as number)).length / rows.length;
  };
  console.log(
    `linear probe of ${base.source} Xception features (${size} px) on ${values.sculptures}: ` +
      `train ${(100 * accuracy(train)).toFixed(1)}%, validation ${(100 * accuracy(val)).toFixed(1)}% ` +
      `(${train.length}/${val.length} images, ${folder.classNames.length} styles)`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
