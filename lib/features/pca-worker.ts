/**
 * Worker thread for the randomized PCA on a feature store: it opens the store itself and computes
 * the data products over its own range of chunks on its own TensorFlow.js wasm backend (one core
 * each), so that the passes over a multi-GB store use every core. Started by `pca.ts`; the
 * protocol is the `WorkerRequest` / `WorkerReply` types there.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FeatureStore } from './store';

interface Init {
  dir: string;
  firstChunk: number;
  endChunk: number;
  blockRows: number;
}

interface Request {
  op: 'left' | 'right';
  verify: boolean;
  l: number;
  /** left: M (n x l, float64, shared). right: Q (d x l, float32, shared). */
  input: SharedArrayBuffer;
  /** right: the n x l float64 output, shared; each worker writes its own rows. */
  output?: SharedArrayBuffer;
  moments: boolean;
}

const init = workerData as Init;
const store = FeatureStore.open(init.dir);
const d = store.dims;

let maxChunkRows = 0;
store.forEachChunkEntry((rows, i) => {
  if (i >= init.firstChunk && i < init.endChunk) maxChunkRows = Math.max(maxChunkRows, rows);
});
/** One buffer for every block of every pass: fresh multi-GB allocations per pass cost page faults. */
const block = new Float32Array((init.blockRows + maxChunkRows) * d);

/** Calls fn on blocks of at least blockRows consecutive rows (several chunks read into one buffer). */
function forEachBlock(
  verify: boolean,
  fn: (rowOffset: number, rows: number, data: Float32Array) => void,
): void {
  let rowOffset = 0;
  store.forEachChunkEntry((rows, i) => {
    if (i < init.firstChunk) rowOffset += rows;
  });
  let rows = 0;
  for (let i = init.firstChunk; i < init.endChunk; i++) {
    rows += store.readChunkInto(i, block, rows, { verify });
    if (rows >= init.blockRows || i === init.endChunk - 1) {
      fn(rowOffset, rows, block.subarray(0, rows * d));
      rowOffset += rows;
      rows = 0;
    }
  }
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  parentPort?.postMessage({ ready: true });
  parentPort?.on('message', (req: Request) => {
    try {
      const l = req.l;
      if (req.op === 'left') {
        const m = new Float64Array(req.input);
        const sum = new Float64Array(req.moments ? d : 0);
        const sumSq = new Float64Array(req.moments ? d : 0);
        let count = 0;
        let acc = tf.zeros([l, d]) as tf.Tensor2D;
        forEachBlock(req.verify, (rowOffset, rows, data) => {
          if (req.moments) {
            // Plain float64 sums; the caller turns them into means and squared deviations.
            count += rows;
            for (let i = 0; i < rows; i++)
              for (let j = 0; j < d; j++) {
                const v = data[i * d + j] as number;
                sum[j] = (sum[j] as number) + v;
                sumSq[j] = (sumSq[j] as number) + v * v;
              }
          }
          const mt = new Float32Array(l * rows);
          for (let i = 0; i < rows; i++)
            for (let j = 0; j < l; j++) mt[j * rows + i] = m[(rowOffset + i) * l + j] as number;
          const next = tf.tidy(
            () =>
              acc.add(
                tf.matMul(tf.tensor2d(mt, [l, rows]), tf.tensor2d(data, [rows, d])),
              ) as tf.Tensor2D,
          );
          acc.dispose();
          acc = next;
        });
        const out = acc.dataSync() as Float32Array;
        acc.dispose();
        const transfer = [out.buffer as ArrayBuffer, sum.buffer, sumSq.buffer];
        parentPort?.postMessage({ product: out, sum, sumSq, count }, transfer);
      } else {
        const q = tf.tensor2d(new Float32Array(req.input), [d, l]);
        const out = new Float64Array(req.output as SharedArrayBuffer);
        forEachBlock(req.verify, (rowOffset, rows, data) => {
          const prod = tf.tidy(() => tf.matMul(tf.tensor2d(data, [rows, d]), q));
          const v = prod.dataSync();
          prod.dispose();
          for (let i = 0; i < rows * l; i++) out[rowOffset * l + i] = v[i] as number;
        });
        q.dispose();
        parentPort?.postMessage({ done: true });
      }
    } catch (e) {
      parentPort?.postMessage({
        error: e instanceof Error ? e.message : String(e),
        subject: (e as { subject?: string }).subject,
      });
    }
  });
}

void main();
