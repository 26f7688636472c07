/**
 * How much of the wasm heap one training step of full Xception (299 px, the study's head) takes,
 * per batch size: the measurement behind lib/train/microbatch.ts HEAP_PER_OUTPUT_BYTE. The wasm
 * heap only grows, so its size after a step is that step's high-water mark (to within one growth
 * step). The last size given is expected to fail: the script then shows whether the backend
 * survives (it does not: every later op fails too).
 *
 * Usage: node dist/bench/wasm-heap.js [trainable|frozen] [1,2,8]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradients } from '../lib/backend/wasm-gradients';
import { buildClassifier, buildXception, freezeBase } from '../lib/models';
import { errorMessage } from '../lib/util/errors';

async function main(): Promise<void> {
  registerWasmGradients();
  await tf.setBackend('wasm');
  await tf.ready();
  const heapMiB = () =>
    (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength /
    2 ** 20;
  const mode = process.argv[2] ?? 'trainable';
  const sizes = (process.argv[3] ?? '1,2,8').split(',').map(Number);
  const base = buildXception({ inputSize: 299, widthMultiplier: 1, seed: 1 });
  const model = buildClassifier(base, {
    numClasses: 12,
    denseUnits: 256,
    l2: 0.0075,
    dropout: 0.5,
    seed: 1,
  });
  if (mode === 'frozen') freezeBase(model);
  const floats = base.layers.reduce((s, l) => {
    const shape = l.outputShape as number[];
    return s + shape.slice(1).reduce((p, v) => p * v, 1);
  }, 0);
  console.log(
    `${mode}: layer outputs ${floats} floats per image; heap after build ${heapMiB()} MiB`,
  );
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = (n: number): number => {
    const t = Date.now();
    const loss = tf.tidy(() => {
      const x = tf.randomUniform([n, 299, 299, 3], -1, 1, 'float32', 7);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: n }, (_, i) => i % 12),
          'int32',
        ),
        12,
      );
      const { value } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor),
        vars,
      );
      return value.dataSync()[0]!;
    });
    console.log(`batch ${n}: ${(Date.now() - t) / 1000} s, heap ${heapMiB()} MiB`);
    return loss;
  };
  for (const n of sizes) {
    try {
      step(n);
    } catch (e) {
      console.log(`batch ${n} failed: ${errorMessage(e).slice(0, 120)}; heap ${heapMiB()} MiB`);
      try {
        tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync());
        console.log('the backend still runs an op');
      } catch (e2) {
        console.log(`the backend is unusable: ${errorMessage(e2).slice(0, 120)}`);
      }
      break;
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
