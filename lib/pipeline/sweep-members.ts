import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { wasmKernelSet } from '../backend/kernel-set';
import type { StudyConfig } from '../config/profiles';
import type { HeapEstimate } from '../train/microbatch';
import type { SweepCallbacks, MemberExecutor, SweepMemberResult } from '../train/sweep';
import type { EpochRecord } from '../train/history';
import type { BatchLogs } from '../train/fit';
import { ArtstyleError, check } from '../util/errors';
import type { RunParams } from './params';

/**
 * The block sweep's members on worker threads, several at a time (lib/train/sweep
 * MemberExecutor): each thread has its own TensorFlow.js backend and trains one member after
 * another with `sweepMemberStep`, exactly as `artstyle sweep --member N` does, on ONE thread (no
 * data-parallel step inside a member). On the wasm backend a core per member is the better use of
 * a CPU than a core per micro-batch: members share nothing, so nothing waits (measured on 2 cores:
 * two single-threaded trainings side by side about 1.6x one, one training on two threads about
 * 1.4x). A member's micro-batches are the profile's whatever the threads, so its results are
 * the same bit for bit as in one process.
 *
 * How many at once (`chooseMemberThreads`): ARTSTYLE_SWEEP_MEMBERS when set; one where
 * ARTSTYLE_THREADS sets the threads of each training step; otherwise, on wasm only, one per core, at most one per member, and no more than 70% of the free memory holds (a
 * member's heap as lib/train/microbatch estimates it); 1 means the members train one after
 * another in this process, each on the trainer's threads.
 */
export interface MemberThreadsChoice {
  members: number;
  reason: string;
}

/** Messages of the member threads (sweep-member-worker.ts). */
export interface MemberWorkerData {
  params: RunParams;
  config: StudyConfig;
  backend: string;
  kernels: 'simd' | 'composed';
  /** Report every batch (only when someone listens: a message per batch). */
  batches: boolean;
}
export type MemberRequest = { kind: 'run'; blocks: number } | { kind: 'abort' };
export type MemberReply =
  | { kind: 'log'; line: string }
  | { kind: 'epoch'; blocks: number; record: EpochRecord; history: EpochRecord[] }
  | { kind: 'batch'; blocks: number; epoch: number; batch: number; logs: BatchLogs }
  | { kind: 'done'; result: SweepMemberResult }
  | { kind: 'error'; message: string; code?: string; subject?: string };

export const SWEEP_MEMBERS_ENV = 'ARTSTYLE_SWEEP_MEMBERS';

export function chooseMemberThreads(o: {
  members: number;
  /**
   * The heap of one member's training step, every block training (lib/train/microbatch
   * estimateStepHeap of a model of the sweep); asked only on wasm, where it limits the count.
   */
  heap: () => HeapEstimate;
  microBatch: number;
  requested?: string | undefined;
  /** ARTSTYLE_THREADS (the threads of one training step): set, the members run one at a time. */
  threadsSetting?: string | undefined;
  backend?: string;
  cores?: number;
  freeBytes?: number;
}): MemberThreadsChoice {
  const requested = o.requested ?? process.env[SWEEP_MEMBERS_ENV];
  if (requested !== undefined && requested.trim() !== '') {
    const n = Number(requested);
    check(
      Number.isInteger(n) && n >= 1,
      SWEEP_MEMBERS_ENV,
      `expected an integer >= 1, got ${JSON.stringify(requested)}`,
    );
    return { members: Math.min(n, o.members), reason: `set by ${SWEEP_MEMBERS_ENV}` };
  }
  const threads = o.threadsSetting ?? process.env['ARTSTYLE_THREADS'];
  if (threads !== undefined && threads.trim() !== '')
    return { members: 1, reason: "ARTSTYLE_THREADS sets each member's training threads" };
  const backend = o.backend ?? tf.getBackend();
  if (backend !== 'wasm')
    return { members: 1, reason: `the ${backend} backend uses every core for one model` };
  const cores = o.cores ?? os.availableParallelism();
  const e = o.heap();
  const perMember = e.fixed + o.microBatch * e.perImage;
  const byMemory = Math.floor((0.7 * (o.freeBytes ?? os.freemem())) / perMember);
  const members = Math.max(1, Math.min(cores, o.members, byMemory));
  const limit =
    members === o.members
      ? 'one per member'
      : members === cores
        ? 'one per core'
        : `the free memory holds ${byMemory} (${(perMember / 2 ** 30).toFixed(2)} GiB each)`;
  return { members, reason: `automatic: ${limit}` };
}

const WORKER_SCRIPT = path.join(__dirname, 'sweep-member-worker.js');

/** One member thread: one member at a time. */
class MemberThread {
  private readonly thread: Worker;
  private current: {
    resolve(r: SweepMemberResult): void;
    reject(e: Error): void;
  } | null = null;
  private failure: Error | null = null;

  private readonly epochs: number;

  constructor(
    data: MemberWorkerData,
    private readonly log: ((line: string) => void) | null,
    private readonly callbacks: SweepCallbacks | undefined,
  ) {
    this.epochs = data.config.finetune.epochs;
    // The members report per epoch through `log`; a progress bar per thread would interleave.
    this.thread = new Worker(WORKER_SCRIPT, {
      workerData: data,
      env: { ...process.env, ARTSTYLE_PROGRESS: 'silent' },
    });
    // A callback that throws fails the member it reports on (and so stops the sweep).
    this.thread.on('message', (m: MemberReply) => {
      this.receive(m).catch((e: unknown) => {
        const current = this.current;
        this.current = null;
        current?.reject(e instanceof Error ? e : new Error(String(e)));
      });
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      this.current?.reject(e);
      this.current = null;
    };
    this.thread.on('error', fail);
    this.thread.on('exit', (code) => fail(new Error(`sweep member thread exited (${code})`)));
  }

  private async receive(m: MemberReply): Promise<void> {
    if (m.kind === 'log') this.log?.(m.line);
    else if (m.kind === 'epoch') {
      const r = m.record;
      this.log?.(
        `block${m.blocks} epoch ${r.epoch}/${this.epochs}: loss ${r.loss.toFixed(4)} accuracy ${r.accuracy.toFixed(4)} ` +
          `val_loss ${r.val_loss.toFixed(4)} val_accuracy ${r.val_accuracy.toFixed(4)} (${r.seconds.toFixed(1)} s)`,
      );
      await this.callbacks?.onEpochEnd?.(m.blocks, m.record, m.history);
    } else if (m.kind === 'batch')
      await this.callbacks?.onBatchEnd?.(m.blocks, m.epoch, m.batch, m.logs);
    else {
      const current = this.current;
      this.current = null;
      if (m.kind === 'done') current?.resolve(m.result);
      else
        current?.reject(
          m.code
            ? new ArtstyleError(m.code, m.message, m.subject)
            : new Error(`sweep member thread: ${m.message}`),
        );
    }
  }

  run(blocks: number, signal: AbortSignal): Promise<SweepMemberResult> {
    if (this.failure) return Promise.reject(this.failure);
    const onAbort = () => this.thread.postMessage({ kind: 'abort' } satisfies MemberRequest);
    signal.addEventListener('abort', onAbort);
    return new Promise<SweepMemberResult>((resolve, reject) => {
      this.current = { resolve, reject };
      this.thread.postMessage({ kind: 'run', blocks } satisfies MemberRequest);
      if (signal.aborted) onAbort();
    }).finally(() => signal.removeEventListener('abort', onAbort));
  }

  async close(): Promise<void> {
    await this.thread.terminate();
  }
}

/**
 * An executor of `count` member threads for the sweep of `params` and `config` (see the module
 * comment). `log` gets the members' lines, `callbacks` their epochs and batches.
 */
export function memberThreads(
  params: RunParams,
  config: StudyConfig,
  choice: MemberThreadsChoice,
  log: ((line: string) => void) | null,
  callbacks?: SweepCallbacks,
): MemberExecutor {
  const data: MemberWorkerData = {
    params,
    config,
    backend: tf.getBackend(),
    kernels: wasmKernelSet(),
    batches: callbacks?.onBatchEnd !== undefined,
  };
  const idle: MemberThread[] = [];
  const all: MemberThread[] = [];
  return {
    concurrency: choice.members,
    reason: `${choice.reason}; each member on one thread`,
    async run(blocks, signal) {
      const thread = idle.pop() ?? new MemberThread(data, log, callbacks);
      if (!all.includes(thread)) all.push(thread);
      try {
        return await thread.run(blocks, signal);
      } finally {
        idle.push(thread);
      }
    },
    async close() {
      await Promise.all(all.map((t) => t.close()));
    },
  };
}
