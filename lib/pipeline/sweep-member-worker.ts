/**
 * One member thread of the block sweep (sweep-members.ts): its own TensorFlow.js backend and the
 * study's data sources; per `run` message it trains one member with `sweepMemberStep` on this
 * thread alone, reports its log lines and epochs, and answers with the member's result. `abort`
 * stops the member at its next batch boundary (its checkpoint keeps the finished epochs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from '../backend/select';
import { setWasmKernelSet } from '../backend/wasm-gradients';
import type { BatchLogs } from '../train/fit';
import { ArtstyleError, errorMessage } from '../util/errors';
import type { MemberReply, MemberRequest, MemberWorkerData } from './sweep-members';
import { sculptureSources, sweepMemberStep } from './study1';

const port = parentPort;
if (!port) throw new Error('lib/pipeline/sweep-member-worker runs only as a worker thread');
const data = workerData as MemberWorkerData;
const post = (m: MemberReply) => port.postMessage(m);

const ready = (async () => {
  await selectBackend({ force: data.backend as BackendChoice, log: null });
  setWasmKernelSet(data.kernels);
  return sculptureSources(data.params, data.config);
})();

let controller: AbortController | null = null;

async function run(blocks: number): Promise<void> {
  controller = new AbortController();
  try {
    const sources = await ready;
    const r = await sweepMemberStep(data.params, data.config, sources, blocks, {
      log: (line) => post({ kind: 'log', line }),
      signal: controller.signal,
      handleSigint: false,
      threads: 1,
      callbacks: {
        onEpochEnd: (b, record, history) => post({ kind: 'epoch', blocks: b, record, history }),
        ...(data.batches
          ? {
              onBatchEnd: (b: number, epoch: number, batch: number, logs: BatchLogs) =>
                post({ kind: 'batch', blocks: b, epoch, batch, logs }),
            }
          : {}),
      },
    });
    post({ kind: 'done', result: r });
  } catch (e) {
    post(
      e instanceof ArtstyleError
        ? {
            kind: 'error',
            message: e.message,
            code: e.code,
            ...(e.subject ? { subject: e.subject } : {}),
          }
        : { kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : errorMessage(e) },
    );
  } finally {
    controller = null;
  }
}

port.on('message', (m: MemberRequest) => {
  if (m.kind === 'abort') controller?.abort();
  else void run(m.blocks);
});
