/**
 * One worker thread of lib/train/parallel.ts: its own tfjs backend and a replica of the model;
 * per step it takes the main thread's weights, computes one shard's loss and gradients with
 * lib/train/microbatch's microBatchGradients and sends them back. It never updates weights itself.
 */
import * as tf from '@tensorflow/tfjs';
// Registers the project's layer classes (KerasBatchNormalization, SeededDropout) for the replica.
import '../models';
import { selectBackend, type BackendChoice } from '../backend/select';
import { tensorFromView } from '../backend/tensor-io';
import { setWasmKernelSet } from '../backend/wasm-gradients';
import { microBatchGradients, seededDropouts } from './microbatch';
import {
  writeShard,
  type WorkerMessage,
  type WorkerModel,
  type WorkerResult,
  type WorkerStep,
} from './parallel';
import { serveInOrder } from '../util/worker-client';
import { orderedWeights } from './weights';

let replica: tf.LayersModel | null = null;
let weights: Float32Array | null = null;
let layout: Array<[number, number]> = [];
let trainableKey = '';

async function loadModel(m: WorkerModel): Promise<void> {
  replica?.dispose();
  replica = await tf.models.modelFromJSON({
    modelTopology: JSON.parse(m.topology) as tf.io.ModelJSON['modelTopology'],
  });
  weights = new Float32Array(m.weights);
  layout = m.layout;
  trainableKey = '';
  const ordered = orderedWeights(replica);
  if (
    ordered.length !== layout.length ||
    ordered.some((w, i) => w.variable.read().size !== layout[i]![1])
  )
    throw new Error("the replica built from the topology does not have the model's weights");
}

function step(s: WorkerStep): WorkerResult {
  const model = replica;
  if (!model || !weights) throw new Error('no model sent before the first step');
  const key = s.trainable.map((t) => (t ? '1' : '0')).join('');
  if (key !== trainableKey) {
    // A frozen KerasBatchNormalization runs in inference mode by itself (lib/models/batch-norm).
    model.layers.forEach((l, i) => (l.trainable = s.trainable[i]!));
    trainableKey = key;
  }
  const ordered = orderedWeights(model);
  tf.tidy(() =>
    s.load.forEach((i) => {
      const w = ordered[i]!;
      const [offset, size] = layout[i]!;
      w.variable.write(
        tensorFromView(weights!.subarray(offset, offset + size), w.variable.read().shape),
      );
    }),
  );
  const variables = s.variables.map((i) => ordered[i]!.variable.read() as tf.Variable);
  const dropouts = seededDropouts(model);
  dropouts.forEach((d, i) => {
    d.step = s.dropoutSteps[i]!;
    d.batchSlice = { start: s.start, total: s.n };
  });
  const classWeights = s.classWeights ? tf.tensor1d(s.classWeights, 'float32') : null;
  const pixels = s.n * s.height * s.width * 3;
  const x = new Float32Array(s.x, 0, pixels);
  const batch = { x, labels: s.labels, ids: [], n: s.n, height: s.height, width: s.width };
  try {
    const out = microBatchGradients(
      batch,
      { model, variables, numClasses: s.numClasses, classWeights },
      s.start,
      s.m,
      s.start === 0,
    );
    return writeShard(out, variables, model, s.layout, new Float32Array(s.out, 0, s.layout.size));
  } finally {
    classWeights?.dispose();
    dropouts.forEach((d) => (d.batchSlice = null));
  }
}

serveInOrder<WorkerMessage>('lib/train/parallel-worker', async (message) => {
  if (message.kind === 'init') {
    await selectBackend({ force: message.backend as BackendChoice, log: null });
    if (message.kernels) setWasmKernelSet(message.kernels);
    return { reply: { kind: 'ready' } };
  }
  if (message.kind === 'model') {
    await loadModel(message);
    return { reply: { kind: 'ready' } };
  }
  if (message.kind === 'step') return { reply: step(message) };
  process.exit(0);
});
