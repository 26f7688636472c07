import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors';
import { outOfMemoryError, type MemoryContext } from '../util/out-of-memory';
import type { Preprocess } from './forward';
import type { EpochRecord } from './history';
import { chooseMicroBatch, chooseThreads, microBatchStep, parseThreads } from './microbatch';
import { parallelStep, type ParallelStep, type ParallelStepOptions } from './parallel';
import { disposeOptimizer, makeOptimizer, type OptimizerSpec } from './optimizers';
import { wholeBatchStep, type StepContext, type TrainStep } from './step';
import type { BatchSource } from './types';
import { orderedWeights } from './weights';

/**
 * The trainer: `fit(spec, callbacks)` runs epochs of training steps and fires events, in the shape
 * of fastai's Learner and the tfjs examples. Everything else a run needs (the folder lock, Ctrl-C
 * and abort, checkpoints and resume, the NaN guard, progress, history files, validation) is a
 * callback in lib/train/callbacks.ts that the caller chooses; `train()` (lib/train/loop.ts) is fit
 * with the standard set. How one batch becomes one update is the step seam (lib/train/step.ts).
 *
 * A custom loop (optimizer.minimize over the model's trainable variables) rather than `model.fit`,
 * because exact resume needs what fit hides: the optimizer's slot variables, the step counter that
 * seeds dropout, and a checkpoint after each epoch.
 */

export type Log = ((line: string) => void) | null;

/** What defines one training run. */
export interface FitSpec {
  model: tf.LayersModel;
  optimizer: OptimizerSpec;
  trainSource: BatchSource;
  valSource: BatchSource;
  epochs: number;
  batchSize: number;
  /** One weight per class (e.g. `balancedClassWeights`); omitted = every sample weighs 1. */
  classWeights?: number[] | undefined;
  seed: number;
  /** Checkpoint, history and lock go here; running again with the same folder resumes. */
  outDir: string;
  /** Raw 0..255 pixels -> model input (e.g. Xception's scaling to [-1, 1]). */
  preprocess?: Preprocess | undefined;
  /** Called before each training batch with the global step, so dropout masks are repeatable. */
  setDropoutStep?: ((model: tf.LayersModel, step: number) => void) | undefined;
  /** How one batch becomes one update (lib/train/step.ts); defaults to the whole batch at once,
   * or to micro-batches (lib/train/microbatch.ts) where the batch does not fit. */
  trainStep?: TrainStep | undefined;
  /** Images per micro-batch; null or omitted = chosen from what fits (chooseMicroBatch). A run
   * whose batches are split records it in its identity, so a resumed run uses the same one. */
  microBatch?: number | null | undefined;
  /** Worker threads for the micro-batches (lib/train/parallel.ts); null or omitted = chosen
   * (chooseThreads: ARTSTYLE_THREADS, else one per core on wasm). Never changes a result. */
  threads?: number | null | undefined;
  /** Shown in messages and before the progress bar; defaults to the folder name. */
  label?: string | undefined;
  /** Where messages go; null for silence. Defaults to console.log. */
  log?: Log | undefined;
}

/** The state of a run that callbacks read and change (resume sets epoch, step and history). */
export interface FitRun {
  readonly spec: FitSpec;
  /** `spec.outDir`, resolved. */
  readonly outDir: string;
  readonly label: string;
  readonly log: Log;
  readonly optimizer: tf.Optimizer;
  /** Images per micro-batch (the batch size when batches are trained whole) and why. */
  microBatch: number;
  microBatchReason: string;
  /** Worker threads that train the micro-batches (1: the main thread) and why. */
  threads: number;
  threadsReason: string;
  /** The step in use: `spec.trainStep`, or the one `microBatch` and `threads` call for. */
  trainStep: TrainStep;
  /** Ends the step's worker threads, if it started any (fit calls it at the end). */
  closeStep: (() => Promise<void>) | null;
  /** The epoch being run (0-based); after a resume, the first one still to run. */
  epoch: number;
  /** Training steps done so far (over all epochs). */
  step: number;
  history: EpochRecord[];
  /** Epochs already done when this call started (0 for a fresh run). */
  resumedFrom: number;
  /** Set by the checkpoint callback: true when the run continues from an existing checkpoint. */
  restored: boolean;
  /** Set by the checkpoint callback: where the last complete epoch is kept. */
  checkpointDir: string | null;
  /** Why the run is stopping at the next batch boundary; null while it runs. */
  stopReason: string | null;
  stop(reason: string): void;
}

export interface BatchLogs {
  loss: number;
  accuracy: number;
  /** Images in the batch. */
  size: number;
}

/** After a training batch: its logs, where it was, and the epoch's running means so far. */
export interface BatchEnd extends BatchLogs {
  /** 0-based epoch, batch within the epoch and global step of this batch. */
  epoch: number;
  batch: number;
  step: number;
  batchesPerEpoch: number;
  epochLoss: number;
  epochAccuracy: number;
}

export interface FitResult {
  status: 'completed' | 'interrupted';
  history: EpochRecord[];
  epochsCompleted: number;
  /** Epochs that were already done when this call started (0 for a fresh run). */
  resumedFrom: number;
  outDir: string;
  /** Why it stopped early, with how to resume. */
  message?: string;
}

type Awaitable = void | Promise<void>;

/** Every hook is optional; callbacks fire in the order given, `cleanup` in reverse order. */
export interface FitCallback {
  beforeFit?(run: FitRun): Awaitable;
  beforeEpoch?(run: FitRun): Awaitable;
  afterBatch?(run: FitRun, logs: BatchEnd): Awaitable;
  /** Extra metrics of the epoch (validation: val_loss, val_accuracy), before `afterEpoch`. */
  epochMetrics?(run: FitRun): Promise<Partial<Record<'val_loss' | 'val_accuracy', number>>>;
  afterEpoch?(run: FitRun, record: EpochRecord): Awaitable;
  afterFit?(run: FitRun, result: FitResult): Awaitable;
  /** Always runs, also after an error (release the lock, remove signal handlers). */
  cleanup?(run: FitRun): void;
}

function validateSpec(o: FitSpec): void {
  const int = (v: number, min: number) => Number.isInteger(v) && v >= min;
  check(int(o.epochs, 1), 'epochs', `expected an integer >= 1, got ${o.epochs}`);
  check(int(o.batchSize, 1), 'batchSize', `expected an integer >= 1, got ${o.batchSize}`);
  check(
    Number.isFinite(o.optimizer.lr) && o.optimizer.lr > 0,
    'optimizer.lr',
    `expected a positive learning rate, got ${o.optimizer.lr}`,
  );
  const m = o.optimizer.momentum ?? 0;
  check(m >= 0 && m < 1, 'optimizer.momentum', `expected a value in [0, 1), got ${m}`);
  check(Number.isInteger(o.seed), 'seed', `expected an integer, got ${o.seed}`);
  const k = o.trainSource.numClasses;
  check(
    o.valSource.numClasses === k,
    'valSource',
    `has ${o.valSource.numClasses} classes but trainSource has ${k}`,
  );
  check(o.trainSource.size > 0, 'trainSource', 'has no images');
  check(o.valSource.size > 0, 'valSource', 'has no images');
  if (o.classWeights) {
    const w = o.classWeights;
    check(w.length === k, 'classWeights', `expected one weight per class (${k}), got ${w.length}`);
    w.forEach((x, i) =>
      check(
        Number.isFinite(x) && x >= 0,
        `classWeights[${i}]`,
        `expected a finite weight >= 0, got ${x}`,
      ),
    );
  }
  const shape = o.model.outputs[0]?.shape;
  check(
    shape !== undefined && shape[shape.length - 1] === k,
    'model',
    `outputs ${shape?.[shape.length - 1]} classes but the data has ${k}`,
  );
  check(o.model.trainableWeights.length > 0, 'model', 'has no trainable weights (all frozen)');
}

/**
 * Chooses the run's micro-batch (lib/train/microbatch.ts chooseMicroBatch: the one asked for, the
 * one `recorded` in the checkpoint of a run that resumes, else what fits) and the step that goes
 * with it, unless `spec.trainStep` names one. The checkpoint callback calls it again with the
 * checkpoint's identity before the run's identity is computed.
 */
export function chooseRunStep(run: FitRun, recorded: Record<string, unknown> | null): void {
  const { spec } = run;
  const micro = chooseMicroBatch({
    model: spec.model,
    batchSize: spec.batchSize,
    requested: spec.microBatch ?? null,
    recorded,
  });
  run.microBatch = micro.microBatch;
  run.microBatchReason = micro.reason;
  const threads = chooseThreads({
    model: spec.model,
    batchSize: spec.batchSize,
    microBatch: micro.microBatch,
    requested: spec.threads ?? parseThreads(process.env['ARTSTYLE_THREADS']),
  });
  run.threads = threads.threads;
  run.threadsReason = threads.reason;
  if (spec.trainStep) run.trainStep = spec.trainStep;
  else {
    const chosen = trainerStep(spec.batchSize, micro.microBatch, threads.threads);
    run.trainStep = chosen.step;
    run.closeStep = chosen.close;
  }
}

/**
 * The step the trainer runs for batches of `batchSize` in micro-batches of `microBatch` on
 * `threads` threads: the whole batch, microBatchStep, or lib/train/parallel.ts's step on the
 * main thread and threads - 1 workers, started at the first batch (a run that is already complete
 * starts none). `close` ends the workers, if any were started. bench/train.ts times this step.
 */
export function trainerStep(
  batchSize: number,
  microBatch: number,
  threads: number,
  kernels?: ParallelStepOptions['kernels'],
): { step: TrainStep; close(): Promise<void> } {
  if (microBatch >= batchSize) return { step: wholeBatchStep, close: async () => undefined };
  if (threads <= 1) return { step: microBatchStep(microBatch), close: async () => undefined };
  let started: Promise<ParallelStep> | null = null;
  const options = { workers: threads - 1, microBatch, mainThread: true };
  return {
    step: async (batch, ctx) => {
      started ??= parallelStep(kernels ? { ...options, kernels } : options);
      return (await started).step(batch, ctx);
    },
    close: async () => (await started)?.close(),
  };
}

/** Where and at what sizes an out-of-memory failure happened, and what to change. */
export function memoryContext(run: FitRun, activity: string, batch?: number): MemoryContext {
  const { spec } = run;
  const m = run.microBatch;
  return {
    label: run.label,
    activity,
    epoch: run.epoch + 1,
    ...(batch !== undefined ? { batch } : {}),
    batchSize: spec.batchSize,
    microBatch: m,
    imageSize: spec.trainSource.imageSize,
    backend: tf.getBackend(),
    ...(run.checkpointDir
      ? {
          saved: `epoch ${run.epoch} is checkpointed in ${run.checkpointDir} (a run with another micro-batch starts over: use a new output folder or delete ${run.outDir})`,
        }
      : {}),
    smaller:
      m > 1
        ? `--micro-batch ${Math.floor(m / 2)}, ARTSTYLE_MICRO_BATCH or the profile's microBatch`
        : 'it is 1 image per micro-batch already: a smaller imageSize',
  };
}

function createRun(spec: FitSpec): FitRun {
  const outDir = path.resolve(spec.outDir);
  const run: FitRun = {
    spec,
    outDir,
    label: spec.label ?? path.basename(outDir),
    log: spec.log === undefined ? (l: string) => console.log(l) : spec.log,
    optimizer: makeOptimizer(spec.optimizer),
    microBatch: spec.batchSize,
    microBatchReason: '',
    threads: 1,
    threadsReason: '',
    trainStep: spec.trainStep ?? wholeBatchStep,
    closeStep: null,
    epoch: 0,
    step: 0,
    history: [],
    resumedFrom: 0,
    restored: false,
    checkpointDir: null,
    stopReason: null,
    stop(reason) {
      run.stopReason ??= reason;
    },
  };
  chooseRunStep(run, null);
  return run;
}

async function fire<K extends 'beforeFit' | 'beforeEpoch'>(
  callbacks: FitCallback[],
  hook: K,
  run: FitRun,
): Promise<void> {
  for (const cb of callbacks) await cb[hook]?.(run);
}

interface EpochTotals {
  lossSum: number;
  correct: number;
  seen: number;
  batches: number;
}

/** One pass over the training batches; stops early (at a batch boundary) when asked to. */
async function trainEpoch(run: FitRun, callbacks: FitCallback[], ctx: StepContext) {
  const { spec } = run;
  const runStep = run.trainStep;
  const batchesPerEpoch = Math.ceil(spec.trainSource.size / spec.batchSize);
  const t: EpochTotals = { lossSum: 0, correct: 0, seen: 0, batches: 0 };
  for await (const batch of spec.trainSource.batches(run.epoch, spec.batchSize)) {
    if (run.stopReason !== null) break;
    spec.setDropoutStep?.(spec.model, run.step);
    const { loss, correct } = await runStep(batch, ctx).catch((e: unknown) => {
      throw outOfMemoryError(e, memoryContext(run, 'training', t.batches + 1)) ?? e;
    });
    t.lossSum += loss * batch.n;
    t.correct += correct;
    t.seen += batch.n;
    const logs: BatchEnd = {
      ...{ loss, accuracy: correct / batch.n, size: batch.n },
      ...{ epoch: run.epoch, batch: t.batches, step: run.step, batchesPerEpoch },
      ...{ epochLoss: t.lossSum / t.seen, epochAccuracy: t.correct / t.seen },
    };
    for (const cb of callbacks) await cb.afterBatch?.(run, logs);
    run.step++;
    t.batches++;
    // Lets a pending SIGINT (or abort) be delivered between batches even on a fully
    // synchronous backend.
    await new Promise((r) => setImmediate(r));
  }
  return { ...t, batchesPerEpoch };
}

async function endEpoch(run: FitRun, callbacks: FitCallback[], t: EpochTotals, t0: number) {
  let metrics: Partial<Record<'val_loss' | 'val_accuracy', number>> = {};
  for (const cb of callbacks)
    if (cb.epochMetrics) metrics = { ...metrics, ...(await cb.epochMetrics(run)) };
  const record: EpochRecord = {
    epoch: run.epoch + 1,
    loss: t.lossSum / t.seen,
    accuracy: t.correct / t.seen,
    val_loss: metrics.val_loss ?? NaN,
    val_accuracy: metrics.val_accuracy ?? NaN,
    seconds: (Date.now() - t0) / 1000,
  };
  run.history.push(record);
  for (const cb of callbacks) await cb.afterEpoch?.(run, record);
}

function interrupted(run: FitRun, done: number, of: number): FitResult {
  const e = run.epoch;
  const where = run.checkpointDir ? `, checkpointed in ${run.checkpointDir}` : '';
  const message =
    `${run.label}: stopped by ${run.stopReason} during epoch ${e + 1} (after ${done} of ${of} batches). ` +
    `Epoch ${e} is the last complete one${where}; run the same command (or notebook cell) again to resume from epoch ${e + 1}.`;
  const { history, resumedFrom, outDir } = run;
  return { status: 'interrupted', history, epochsCompleted: e, resumedFrom, outDir, message };
}

async function runEpochs(run: FitRun, callbacks: FitCallback[]): Promise<FitResult> {
  const { spec } = run;
  const classWeights = spec.classWeights ? tf.tensor1d(spec.classWeights, 'float32') : null;
  const ctx: StepContext = {
    model: spec.model,
    optimizer: run.optimizer,
    variables: orderedWeights(spec.model)
      .filter((w) => w.trainable)
      .map((w) => w.variable.read() as tf.Variable),
    numClasses: spec.trainSource.numClasses,
    classWeights,
    ...(spec.preprocess ? { preprocess: spec.preprocess } : {}),
  };
  try {
    for (; run.epoch < spec.epochs; run.epoch++) {
      const t0 = Date.now();
      await fire(callbacks, 'beforeEpoch', run);
      const t = await trainEpoch(run, callbacks, ctx);
      if (run.stopReason !== null) return interrupted(run, t.batches, t.batchesPerEpoch);
      await endEpoch(run, callbacks, t, t0);
    }
  } finally {
    classWeights?.dispose();
  }
  const epochsCompleted = Math.max(spec.epochs, run.resumedFrom);
  return {
    status: 'completed',
    history: run.history,
    epochsCompleted,
    resumedFrom: run.resumedFrom,
    outDir: run.outDir,
  };
}

/**
 * Trains `spec.model` for `spec.epochs` epochs with the given callbacks (see the module comment).
 * Returns when done, or when a callback asked it to stop (`run.stop`) at a batch boundary.
 */
export async function fit(spec: FitSpec, callbacks: FitCallback[] = []): Promise<FitResult> {
  validateSpec(spec);
  const run = createRun(spec);
  try {
    await fire(callbacks, 'beforeFit', run);
    if (run.microBatch < spec.batchSize && !spec.trainStep) {
      const on =
        run.threads > 1
          ? `, on ${run.threads} threads: the main one and ${run.threads - 1} worker(s) (${run.threadsReason})`
          : '';
      run.log?.(
        `${run.label}: batch ${spec.batchSize} in micro-batches of ${run.microBatch} (${run.microBatchReason})${on}`,
      );
    }
    const result = await runEpochs(run, callbacks);
    for (const cb of callbacks) await cb.afterFit?.(run, result);
    if (result.message) run.log?.(result.message);
    return result;
  } finally {
    for (const cb of callbacks.slice().reverse()) cb.cleanup?.(run);
    await run.closeStep?.();
    disposeOptimizer(run.optimizer);
  }
}
