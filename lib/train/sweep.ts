import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { mcnemar, wilsonInterval, type Interval, type McNemarResult } from '../eval/stats';
import { ArtstyleError, check } from '../util/errors';
import { readJson, writeJsonAtomic } from '../util/fs';
import {
  assertFinished,
  loadCheckpointWeights,
  readCheckpoint,
  MANIFEST_FILE,
  type LoadedCheckpoint,
} from './checkpoint';
import type { BatchLogs, FitSpec } from './fit';
import { predict } from './forward';
import type { EpochRecord } from './history';
import { acquireLock } from './lock';
import { train, type RunControls } from './loop';
import type { BatchSource } from './types';

/**
 * The block sweep of the seed: for each N, a model starts from the same pretrained weights, has
 * its first N blocks frozen and is fine-tuned into `<outDir>/block<N>/`. Each model is its own
 * resumable training run, so a sweep stopped anywhere resumes with the same call: finished models
 * are not retrained (their checkpoint already says so), the interrupted one continues.
 *
 * The choice of the best model: each model's FINAL weights (after the last epoch) are evaluated on
 * the validation images, as the seed evaluated each trained model; the highest validation accuracy
 * wins (ties: the lower final validation loss, then the smaller N). The final epoch rather than
 * the best epoch, because picking the best of 50 noisy validation scores per model would add a
 * second, hidden selection on the same images and inflate the reported accuracy. The report gives
 * each accuracy's 95% Wilson interval and McNemar's test of the winner against the runner-up on
 * the same images, so a "win" that is within noise is reported as such.
 */

export interface SweepCallbacks {
  onBatchEnd?(blocks: number, epoch: number, batch: number, logs: BatchLogs): void | Promise<void>;
  onEpochEnd?(blocks: number, record: EpochRecord, history: EpochRecord[]): void | Promise<void>;
  onModelEnd?(model: SweepModelResult): void | Promise<void>;
}

/** What defines a sweep: the fit spec of its members (less model and folder) and its grid. */
export interface SweepSpec extends Omit<FitSpec, 'model' | 'outDir' | 'label'> {
  /** Frozen-block counts, in the order to train them. */
  blocks: number[];
  /** The pretraining run's output folder (or its `checkpoint` folder). */
  fromCheckpoint: string;
  /** Builds a fresh model of the pretrained architecture (weights are then loaded). */
  buildModel: () => tf.LayersModel;
  /** Freezes the first N blocks (lib/models freezeBlocks). */
  freeze: (model: tf.LayersModel, blocks: number) => void;
  /** The sweep's folder; member N trains into `<outDir>/block<N>`. */
  outDir: string;
  evalBatchSize?: number | undefined;
}

/**
 * Who trains the members of a whole sweep (runSweep): by default this process, one after another;
 * an executor trains several at once elsewhere (for example lib/pipeline's worker threads, one
 * member per core). Each member stays its own unit (sweepMember: its own folder, lock, checkpoint
 * and resume, the same result whoever trains it), so the executor changes when, not what.
 */
export interface MemberExecutor {
  /** Members trained at the same time. */
  concurrency: number;
  /** Why that many, for the log. */
  reason: string;
  /** Trains member `blocks` as sweepMember does; stops at a batch boundary when `signal` aborts. */
  run(blocks: number, signal: AbortSignal): Promise<SweepMemberResult>;
  /** Ends whatever the executor started. */
  close(): Promise<void>;
}

export type SweepOptions = SweepSpec &
  Pick<RunControls, 'signal' | 'handleSigint'> & {
    callbacks?: SweepCallbacks | undefined;
    /** Trains the members; omitted: this process, one after another. */
    members?: MemberExecutor | undefined;
  };

export interface SweepModelResult {
  blocks: number;
  dir: string;
  history: EpochRecord[];
  /** Validation accuracy of the final weights (equals the last epoch's val_accuracy). */
  valAccuracy: number;
  valLoss: number;
  correct: number;
  n: number;
  /** Per validation image, in `ids` order: did the final model get it right. */
  rightById: boolean[];
  ids: string[];
}

export interface RankedModel {
  blocks: number;
  name: string;
  accuracy: number;
  correct: number;
  n: number;
  interval: Interval;
  valLoss: number;
}

export interface SweepSelection {
  criterion: string;
  ranking: RankedModel[];
  best: RankedModel;
  runnerUp: RankedModel | null;
  mcnemar: McNemarResult | null;
  /** A few sentences for the notebook that state the choice and how sure it is. */
  text: string;
}

export interface SweepResult {
  status: 'completed' | 'interrupted';
  models: SweepModelResult[];
  selection: SweepSelection | null;
  message?: string;
}

export const PREDICTIONS_FILE = 'val-predictions.json';

interface StoredPredictions {
  blocks: number;
  epochs: number;
  ids: string[];
  labels: number[];
  predicted: number[];
  valLoss: number;
}

export function blockDirName(blocks: number): string {
  return `block${blocks}`;
}

function checkpointDirOf(dir: string): string {
  return fs.existsSync(path.join(dir, MANIFEST_FILE)) ? dir : path.join(dir, 'checkpoint');
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function pValue(p: number): string {
  return p < 0.001 ? '< 0.001' : `= ${p.toFixed(3)}`;
}

/** Ranks the models and compares the best with the runner-up (see the module comment). */
export function selectBest(models: SweepModelResult[]): SweepSelection {
  check(models.length > 0, 'models', 'expected at least one trained model');
  const ranking: RankedModel[] = models
    .map((m) => ({
      blocks: m.blocks,
      name: blockDirName(m.blocks),
      accuracy: m.valAccuracy,
      correct: m.correct,
      n: m.n,
      interval: wilsonInterval(m.correct, m.n),
      valLoss: m.valLoss,
    }))
    .sort((a, b) => b.accuracy - a.accuracy || a.valLoss - b.valLoss || a.blocks - b.blocks);
  const best = ranking[0]!;
  const runnerUp = ranking[1] ?? null;
  let test: McNemarResult | null = null;
  const lines = [
    `${best.name} has the highest validation accuracy: ${pct(best.accuracy)} (${best.correct}/${best.n}, 95% CI ${pct(best.interval.lower)}-${pct(best.interval.upper)}).`,
  ];
  if (runnerUp) {
    const a = models.find((m) => m.blocks === best.blocks)!;
    const b = models.find((m) => m.blocks === runnerUp.blocks)!;
    if (a.ids.join('\n') !== b.ids.join('\n'))
      throw new ArtstyleError(
        'invalid-argument',
        `${best.name} and ${runnerUp.name} were not evaluated on the same validation images in the same order`,
        'models',
      );
    test = mcnemar(a.rightById, b.rightById);
    const overlap = best.interval.lower <= runnerUp.interval.upper;
    lines.push(
      `Runner-up ${runnerUp.name}: ${pct(runnerUp.accuracy)} (${runnerUp.correct}/${runnerUp.n}, 95% CI ${pct(runnerUp.interval.lower)}-${pct(runnerUp.interval.upper)}).`,
      `On the same ${test.n} images, ${best.name} alone was right on ${test.onlyA} and ${runnerUp.name} alone on ${test.onlyB}: ` +
        `exact McNemar p ${pValue(test.exactP)} (chi-square with continuity correction ${test.chiSquare.toFixed(2)}, p ${pValue(test.chiSquareP)}).`,
      test.exactP < 0.05
        ? `The difference is significant at the 5% level.`
        : `The difference is not significant at the 5% level${overlap ? ' and the intervals overlap' : ''}: on this validation set the two are not distinguishable, and the choice between them is close to arbitrary.`,
    );
  }
  return {
    criterion:
      'final-epoch validation accuracy (ties: lower final validation loss, then fewer frozen blocks)',
    ranking,
    best,
    runnerUp,
    mcnemar: test,
    text: lines.join(' '),
  };
}

/** The member's final-weights predictions on the validation images, stored beside its run. */
async function memberPredictions(
  model: tf.LayersModel,
  o: SweepSpec,
  blocks: number,
  dir: string,
  history: EpochRecord[],
): Promise<StoredPredictions> {
  const file = path.join(dir, PREDICTIONS_FILE);
  const stored = readPredictions(file, history.length, o.valSource.size);
  if (stored) return stored;
  const p = await predict(model, o.valSource, {
    batchSize: o.evalBatchSize ?? 32,
    preprocess: o.preprocess,
  });
  const fresh: StoredPredictions = {
    blocks,
    epochs: history.length,
    ids: p.ids,
    labels: Array.from(p.labels),
    predicted: Array.from(p.predicted),
    valLoss: history[history.length - 1]?.val_loss ?? NaN,
  };
  writeJsonAtomic(file, fresh);
  return fresh;
}

function readPredictions(file: string, epochs: number, size: number): StoredPredictions | null {
  if (!fs.existsSync(file)) return null;
  const s = readJson<StoredPredictions>(file);
  return s.epochs === epochs && s.ids.length === size ? s : null;
}

function memberResult(
  blocks: number,
  dir: string,
  history: EpochRecord[],
  stored: StoredPredictions,
): SweepModelResult {
  const rightById = stored.labels.map((y, i) => y === stored.predicted[i]);
  const correct = rightById.filter(Boolean).length;
  return {
    blocks,
    dir,
    history,
    valAccuracy: correct / rightById.length,
    valLoss: stored.valLoss,
    correct,
    n: rightById.length,
    rightById,
    ids: stored.ids,
  };
}

function checkBlocks(blocks: number[]): void {
  check(blocks.length > 0, 'blocks', 'expected at least one frozen-block count');
  blocks.forEach((b, i) =>
    check(Number.isInteger(b) && b >= 0, `blocks[${i}]`, `expected an integer >= 0, got ${b}`),
  );
  check(
    new Set(blocks).size === blocks.length,
    'blocks',
    `each count may appear once, got [${blocks}]`,
  );
}

/** The finished pretraining run the members start from; a named error when it is not there. */
export function finishedPretraining(fromCheckpoint: string): LoadedCheckpoint {
  const pre = readCheckpoint(checkpointDirOf(fromCheckpoint));
  if (!pre)
    throw new ArtstyleError(
      'missing-checkpoint',
      `no pretrained checkpoint in ${fromCheckpoint}: run the pretraining first`,
      fromCheckpoint,
    );
  assertFinished(pre);
  return pre;
}

export interface SweepMemberResult {
  status: 'completed' | 'interrupted';
  /** The member's validation result; null when interrupted. */
  model: SweepModelResult | null;
  message?: string;
}

/**
 * One unit of the sweep: member `blocks` trains into `<outDir>/block<N>` from the finished
 * pretraining, under that folder's own lock, resuming from its own checkpoint, then stores its
 * validation predictions. Members are independent: they can run one after another, in separate
 * processes, or as tasks of a cluster job array, with the same result.
 */
export async function sweepMember(o: SweepOptions, blocks: number): Promise<SweepMemberResult> {
  check(o.blocks.includes(blocks), 'member', `${blocks} is not one of the sweep's [${o.blocks}]`);
  const pre = finishedPretraining(o.fromCheckpoint);
  const dir = path.join(path.resolve(o.outDir), blockDirName(blocks));
  const lock = acquireLock(dir, o.log === undefined ? (l) => console.log(l) : o.log);
  const model = o.buildModel();
  try {
    loadCheckpointWeights(model, checkpointDirOf(o.fromCheckpoint));
    o.freeze(model, blocks);
    const {
      blocks: _b,
      fromCheckpoint: _f,
      buildModel: _m,
      freeze: _z,
      evalBatchSize: _e,
      ...spec
    } = o;
    const r = await train({
      ...spec,
      model,
      outDir: dir,
      label: blockDirName(blocks),
      lock: false,
      identity: { frozenBlocks: blocks, pretrained: pre.manifest.weightsSha256 },
      callbacks: {
        onBatchEnd: (e, b, l) => o.callbacks?.onBatchEnd?.(blocks, e, b, l),
        onEpochEnd: (rec, h) => o.callbacks?.onEpochEnd?.(blocks, rec, h),
      },
    });
    if (r.status === 'interrupted')
      return { status: 'interrupted', model: null, ...(r.message ? { message: r.message } : {}) };
    const stored = await memberPredictions(model, o, blocks, dir, r.history);
    const result = memberResult(blocks, dir, r.history, stored);
    await o.callbacks?.onModelEnd?.(result);
    return { status: 'completed', model: result };
  } finally {
    model.dispose();
    lock.release();
  }
}

/** A finished member read back from its folder; a named error when it is missing or unfinished. */
export function readSweepMember(
  outDir: string,
  blocks: number,
  o: { epochs: number; valSize: number },
): SweepModelResult {
  const dir = path.join(path.resolve(outDir), blockDirName(blocks));
  const ck = readCheckpoint(path.join(dir, 'checkpoint'));
  const rerun = `run \`artstyle sweep --member ${blocks}\` (or the sweep) first`;
  if (!ck)
    throw new ArtstyleError(
      'sweep-member-missing',
      `sweep member ${blockDirName(blocks)} has not been trained: no checkpoint in ${dir}; ${rerun}`,
      dir,
    );
  const history = ck.manifest.history;
  if (ck.manifest.epoch < o.epochs)
    throw new ArtstyleError(
      'sweep-member-unfinished',
      `sweep member ${blockDirName(blocks)} stopped after ${ck.manifest.epoch} of ${o.epochs} epochs (${ck.file}); ${rerun} to finish it`,
      dir,
    );
  const stored = readPredictions(path.join(dir, PREDICTIONS_FILE), history.length, o.valSize);
  if (!stored)
    throw new ArtstyleError(
      'sweep-member-unfinished',
      `sweep member ${blockDirName(blocks)} has no validation predictions for its ${history.length} epochs in ${dir}; ${rerun} to finish it`,
      dir,
    );
  return memberResult(blocks, dir, history, stored);
}

/**
 * The merge unit: reads every member from its folder, chooses (selectBest) and writes
 * `<outDir>/sweep-summary.json`, under the sweep folder's lock. Refuses (a named error) while a
 * member is missing or unfinished.
 */
export function mergeSweep(o: {
  blocks: number[];
  outDir: string;
  epochs: number;
  valSource: Pick<BatchSource, 'size'>;
  log?: ((line: string) => void) | null | undefined;
}): SweepResult {
  checkBlocks(o.blocks);
  const log = o.log === undefined ? (l: string) => console.log(l) : o.log;
  const outDir = path.resolve(o.outDir);
  const lock = acquireLock(outDir, log);
  try {
    const opts = { epochs: o.epochs, valSize: o.valSource.size };
    const models = o.blocks.map((b) => readSweepMember(outDir, b, opts));
    const selection = selectBest(models);
    writeJsonAtomic(path.join(outDir, 'sweep-summary.json'), {
      criterion: selection.criterion,
      ranking: selection.ranking,
      best: selection.best.blocks,
      runnerUp: selection.runnerUp?.blocks ?? null,
      mcnemar: selection.mcnemar,
      text: selection.text,
      histories: Object.fromEntries(models.map((m) => [blockDirName(m.blocks), m.history])),
    });
    log?.(selection.text);
    return { status: 'completed', models, selection };
  } finally {
    lock.release();
  }
}

/** Ctrl-C (or SIGTERM) for a whole sweep: the first stops the member at its batch boundary, the second quits. */
function sweepInterrupts(o: SweepOptions): {
  signal: AbortSignal;
  abort(): void;
  dispose(): void;
} {
  const controller = new AbortController();
  let sigints = 0;
  const log = o.log === undefined ? (l: string) => console.log(l) : o.log;
  const onSigint = (): void => {
    if (++sigints > 1) {
      log?.('second Ctrl-C: quitting now; finished epochs stay checkpointed');
      process.exit(130);
    }
    log?.('Ctrl-C: stopping the sweep at the end of this batch (press again to quit at once)');
    controller.abort();
  };
  // A scheduler's SIGTERM (before the time limit, preemption, scancel) stops the same way.
  const onSigterm = (): void => {
    if (controller.signal.aborted) process.exit(143);
    log?.('SIGTERM: stopping the sweep at the end of this batch');
    controller.abort();
  };
  const onOuterAbort = (): void => controller.abort();
  if (o.handleSigint !== false) process.on('SIGINT', onSigint).on('SIGTERM', onSigterm);
  o.signal?.addEventListener('abort', onOuterAbort);
  if (o.signal?.aborted) controller.abort();
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    dispose() {
      if (o.handleSigint !== false) process.off('SIGINT', onSigint).off('SIGTERM', onSigterm);
      o.signal?.removeEventListener('abort', onOuterAbort);
    },
  };
}

/**
 * The whole sweep: every member (in this process one after another, or on `o.members`), then the
 * merge. Stopped (Ctrl-C, SIGTERM, the signal), it stops every running member at its batch
 * boundary and says how to resume; a member that fails stops the others and its error is thrown.
 */
export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  checkBlocks(o.blocks);
  finishedPretraining(o.fromCheckpoint);
  const log = o.log === undefined ? (l: string) => console.log(l) : o.log;
  const stop = sweepInterrupts(o);
  try {
    const stopped = o.members
      ? await membersOn(o.members, o, stop, log)
      : await membersInOrder(o, stop, log);
    if (stopped) return stopped;
  } finally {
    stop.dispose();
  }
  return mergeSweep({ ...o });
}

type Interrupts = ReturnType<typeof sweepInterrupts>;

async function membersInOrder(
  o: SweepOptions,
  stop: Interrupts,
  log: ((l: string) => void) | null,
): Promise<SweepResult | null> {
  const models: SweepModelResult[] = [];
  for (const blocks of o.blocks) {
    if (stop.signal.aborted) {
      const message = `sweep stopped before ${blockDirName(blocks)}; run the same command (or notebook cell) again to resume`;
      log?.(message);
      return { status: 'interrupted', models, selection: null, message };
    }
    const r = await sweepMember({ ...o, signal: stop.signal, handleSigint: false }, blocks);
    if (r.status === 'interrupted') {
      const message = `sweep stopped during ${blockDirName(blocks)}: ${r.message ?? ''} Models already finished are kept.`;
      return { status: 'interrupted', models, selection: null, message };
    }
    models.push(r.model!);
  }
  return null;
}

/** The members on an executor, `concurrency` at a time, started in the sweep's order. */
async function membersOn(
  executor: MemberExecutor,
  o: SweepOptions,
  stop: Interrupts,
  log: ((l: string) => void) | null,
): Promise<SweepResult | null> {
  log?.(
    `sweep: ${o.blocks.length} members, ${executor.concurrency} at a time (${executor.reason})`,
  );
  const queue = [...o.blocks];
  const models: SweepModelResult[] = [];
  const stoppedDuring: string[] = [];
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    for (let blocks = queue.shift(); blocks !== undefined; blocks = queue.shift()) {
      if (stop.signal.aborted) return;
      try {
        const r = await executor.run(blocks, stop.signal);
        if (r.status === 'interrupted') stoppedDuring.push(blockDirName(blocks));
        else {
          models.push(r.model!);
          await o.callbacks?.onModelEnd?.(r.model!);
        }
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    }
  };
  try {
    const lanes = Math.max(1, Math.min(executor.concurrency, o.blocks.length));
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    await executor.close();
  }
  if (failure) throw (failure as { error: unknown }).error;
  if (stop.signal.aborted || stoppedDuring.length > 0) {
    const during = stoppedDuring.length ? ` during ${stoppedDuring.join(', ')}` : '';
    const message = `sweep stopped${during}; run the same command (or notebook cell) again to resume. Models already finished are kept.`;
    log?.(message);
    return { status: 'interrupted', models, selection: null, message };
  }
  return null;
}
