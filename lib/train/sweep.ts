import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { predict } from '../eval/classification';
import { mcnemar, wilsonInterval, type Interval, type McNemarResult } from '../eval/stats';
import { ArtstyleError, check } from '../util/errors';
import { readJson, writeJsonAtomic } from '../util/fs';
import { assertFinished, loadCheckpointWeights, readCheckpoint, MANIFEST_FILE } from './checkpoint';
import type { EpochRecord } from './history';
import { acquireLock } from './lock';
import { train, type BatchLogs, type OptimizerSpec } from './loop';
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

export interface SweepOptions {
  /** Frozen-block counts, in the order to train them. */
  blocks: number[];
  /** The pretraining run's output folder (or its `checkpoint` folder). */
  fromCheckpoint: string;
  /** Builds a fresh model of the pretrained architecture (weights are then loaded). */
  buildModel: () => tf.LayersModel;
  /** Freezes the first N blocks (lib/models freezeBlocks). */
  freeze: (model: tf.LayersModel, blocks: number) => void;
  optimizer: OptimizerSpec;
  trainSource: BatchSource;
  valSource: BatchSource;
  epochs: number;
  batchSize: number;
  classWeights?: number[];
  outDir: string;
  seed: number;
  preprocess?: (x: tf.Tensor4D) => tf.Tensor4D;
  setDropoutStep?: (model: tf.LayersModel, step: number) => void;
  evalBatchSize?: number;
  /** Images per micro-batch of each model's training (lib/train/loop TrainOptions.microBatch). */
  microBatch?: number | null;
  callbacks?: SweepCallbacks;
  signal?: AbortSignal;
  log?: ((line: string) => void) | null;
  /** Install a SIGINT handler for the sweep (default true). */
  handleSigint?: boolean;
}

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

async function evaluateModel(
  model: tf.LayersModel,
  o: SweepOptions,
  blocks: number,
  dir: string,
  history: EpochRecord[],
): Promise<SweepModelResult> {
  const file = path.join(dir, PREDICTIONS_FILE);
  let stored: StoredPredictions | null = null;
  if (fs.existsSync(file)) {
    const s = readJson<StoredPredictions>(file);
    if (s.epochs === history.length && s.ids.length === o.valSource.size) stored = s;
  }
  if (!stored) {
    const p = await predict(model, o.valSource, {
      batchSize: o.evalBatchSize ?? 32,
      ...(o.preprocess ? { preprocess: o.preprocess } : {}),
    });
    stored = {
      blocks,
      epochs: history.length,
      ids: p.ids,
      labels: Array.from(p.labels),
      predicted: Array.from(p.predicted),
      valLoss: history[history.length - 1]?.val_loss ?? NaN,
    };
    writeJsonAtomic(file, stored);
  }
  const predicted = stored.predicted;
  const rightById = stored.labels.map((y, i) => y === predicted[i]);
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

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  check(o.blocks.length > 0, 'blocks', 'expected at least one frozen-block count');
  o.blocks.forEach((b, i) =>
    check(Number.isInteger(b) && b >= 0, `blocks[${i}]`, `expected an integer >= 0, got ${b}`),
  );
  check(
    new Set(o.blocks).size === o.blocks.length,
    'blocks',
    `each count may appear once, got [${o.blocks}]`,
  );
  const log = o.log === undefined ? (l: string) => console.log(l) : o.log;
  const outDir = path.resolve(o.outDir);
  const pretrained = checkpointDirOf(o.fromCheckpoint);
  const pre = readCheckpoint(pretrained);
  if (!pre)
    throw new ArtstyleError(
      'missing-checkpoint',
      `no pretrained checkpoint in ${o.fromCheckpoint}: run the pretraining first`,
      o.fromCheckpoint,
    );
  assertFinished(pre);
  const lock = acquireLock(outDir, log);
  const controller = new AbortController();
  let sigints = 0;
  const onSigint = (): void => {
    sigints++;
    if (sigints > 1) {
      log?.('second Ctrl-C: quitting now; finished epochs stay checkpointed');
      process.exit(130);
    }
    log?.('Ctrl-C: stopping the sweep at the end of this batch (press again to quit at once)');
    controller.abort();
  };
  const onOuterAbort = (): void => controller.abort();
  if (o.handleSigint !== false) process.on('SIGINT', onSigint);
  o.signal?.addEventListener('abort', onOuterAbort);
  if (o.signal?.aborted) controller.abort();
  const models: SweepModelResult[] = [];
  try {
    for (const blocks of o.blocks) {
      const dir = path.join(outDir, blockDirName(blocks));
      if (controller.signal.aborted) {
        const message = `sweep stopped before ${blockDirName(blocks)}; run the same command (or notebook cell) again to resume`;
        log?.(message);
        return { status: 'interrupted', models, selection: null, message };
      }
      const model = o.buildModel();
      try {
        loadCheckpointWeights(model, pretrained);
        o.freeze(model, blocks);
        const r = await train({
          model,
          optimizer: o.optimizer,
          trainSource: o.trainSource,
          valSource: o.valSource,
          epochs: o.epochs,
          batchSize: o.batchSize,
          ...(o.classWeights ? { classWeights: o.classWeights } : {}),
          ...(o.microBatch !== undefined ? { microBatch: o.microBatch } : {}),
          outDir: dir,
          seed: o.seed,
          ...(o.preprocess ? { preprocess: o.preprocess } : {}),
          ...(o.setDropoutStep ? { setDropoutStep: o.setDropoutStep } : {}),
          identity: { frozenBlocks: blocks, pretrained: pre.manifest.weightsSha256 },
          label: blockDirName(blocks),
          log,
          handleSigint: false,
          signal: controller.signal,
          callbacks: {
            onBatchEnd: (e, b, l) => o.callbacks?.onBatchEnd?.(blocks, e, b, l),
            onEpochEnd: (rec, h) => o.callbacks?.onEpochEnd?.(blocks, rec, h),
          },
        });
        if (r.status === 'interrupted') {
          const message = `sweep stopped during ${blockDirName(blocks)}: ${r.message ?? ''} Models already finished are kept.`;
          return { status: 'interrupted', models, selection: null, message };
        }
        const result = await evaluateModel(model, o, blocks, dir, r.history);
        models.push(result);
        await o.callbacks?.onModelEnd?.(result);
      } finally {
        model.dispose();
      }
    }
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
    if (o.handleSigint !== false) process.off('SIGINT', onSigint);
    o.signal?.removeEventListener('abort', onOuterAbort);
    lock.release();
  }
}
