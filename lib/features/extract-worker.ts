/**
 * One worker thread of extractFeatures (extract.ts): its own TensorFlow.js backend and a copy of
 * the model (topology and weights from the main thread, once); per message, one batch of already
 * preprocessed images in, its pooled features out. Protocol: `ExtractWorkerMessage` and
 * `ExtractWorkerReply` in extract.ts.
 */
import * as tf from '@tensorflow/tfjs';
// Registers the project's layer classes (KerasBatchNormalization, ...) for the copy of the model.
import '../models';
import { selectBackend, type BackendChoice } from '../backend/select';
import { serveInOrder } from '../util/worker-client';
import { batchFeatures, type ExtractWorkerMessage, type ExtractWorkerReply } from './extract';

let model: tf.LayersModel | null = null;

async function handle(m: ExtractWorkerMessage): Promise<ExtractWorkerReply> {
  if (m.kind === 'init') {
    await selectBackend({ force: m.backend as BackendChoice, log: null });
    model = await tf.models.modelFromJSON({
      modelTopology: JSON.parse(m.topology) as tf.io.ModelJSON['modelTopology'],
    });
    const values = new Float32Array(m.weights);
    const weights = model.weights;
    if (weights.length !== m.layout.length)
      throw new Error("the worker's copy of the model does not have the model's weights");
    tf.tidy(() =>
      weights.forEach((w, i) => {
        const [offset, size] = m.layout[i]!;
        w.write(tf.tensor(values.slice(offset, offset + size), w.read().shape, 'float32'));
      }),
    );
    return { kind: 'ready' };
  }
  if (!model) throw new Error('no model sent before the first batch');
  const features = batchFeatures(model, m.x, m.n, m.size, m.pooling);
  return { kind: 'features', features };
}

serveInOrder<ExtractWorkerMessage>('lib/features/extract-worker', async (m) => {
  const reply = await handle(m);
  return {
    reply,
    transfer: reply.kind === 'features' ? [reply.features.buffer as ArrayBuffer] : [],
  };
});
