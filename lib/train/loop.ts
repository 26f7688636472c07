import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArtstyleError, check } from '../util/errors';
import { outOfMemoryError, type MemoryContext } from '../util/out-of-memory';
import { inferenceBatchSize } from '../models/memory';
import { createProgress } from '../util/progress';
import { sha256 } from '../util/fs';
import {
  readCheckpoint,
  restoreModelWeights,
  restoreOptimizer,
  saveCheckpoint,
  stableStringify,
  CHECKPOINT_VERSION,
} from './checkpoint';
import { writeHistory, type EpochRecord } from './history';
import { acquireLock } from './lock';
import type { BatchSource } from './types';
import { frozenBatchNormInference, orderedWeights } from './weights';
import { chooseMicroBatch, microBatchStep } from './microbatch';
import {
  CROSSENTROPY_EPSILON,
  perSampleCrossEntropy,
  regularizationLoss,
  wholeBatchStep,
  type TrainStep,
} from './step';

/**
 * The training loop: a custom tfjs loop (optimizer.minimize over the model's trainable variables)
 * rather than `model.fit`, because exact resume needs what fit hides: the optimizer's slot
 * variables, the step counter that seeds dropout, and a checkpoint after each epoch.
 *
 * Losses and metrics follow Keras: the training loss is the mean over the batch of the per-sample
 * categorical cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7]), each multiplied by its
 * class weight when class weights are given (Keras `class_weight`: divided by the batch size, not by
 * the sum of weights), plus the model's regularisation losses; the epoch's loss is the mean of the
 * batch losses weighted by batch size. Accuracy is never weighted. Validation loss is unweighted
 * cross-entropy plus the regularisation losses, as Keras reports `val_loss`.
 *
 * Optimizers: tfjs's RMSprop (rho 0.9, epsilon 1e-7 as Keras) divides by sqrt(ms + eps) where
 * Keras divides by sqrt(ms) + eps, a difference only for near-zero gradients; SGD with momentum
 * is the same update as Keras' for a constant learning rate.
 */

export type OptimizerKind = 'rmsprop' | 'sgd';

export interface OptimizerSpec {
  kind: OptimizerKind;
  lr: number;
  /** SGD momentum (0 = plain SGD). RMSprop's own momentum is 0, as in Keras' default. */
  momentum?: number;
}

export interface BatchLogs {
  loss: number;
  accuracy: number;
  /** Images in the batch. */
  size: number;
}

export interface TrainCallbacks {
  /** After each training batch; `epoch` and `batch` are 0-based. */
  onBatchEnd?(epoch: number, batch: number, logs: BatchLogs): void | Promise<void>;
  /** After each epoch's validation and checkpoint. */
  onEpochEnd?(record: EpochRecord, history: EpochRecord[]): void | Promise<void>;
}

export interface TrainOptions {
  model: tf.LayersModel;
  optimizer: OptimizerSpec;
  trainSource: BatchSource;
  valSource: BatchSource;
  epochs: number;
  batchSize: number;
  /** One weight per class (e.g. `balancedClassWeights`); omitted = every sample weighs 1. */
  classWeights?: number[];
  /** Checkpoint, history and lock go here; running again with the same folder resumes. */
  outDir: string;
  seed: number;
  callbacks?: TrainCallbacks;
  /** Aborting stops the run at the next batch boundary (as Ctrl-C does). */
  signal?: AbortSignal;
  /** Raw 0..255 pixels -> model input (e.g. Xception's scaling to [-1, 1]). */
  preprocess?: (x: tf.Tensor4D) => tf.Tensor4D;
  /** Called before each training batch with the global step, so dropout masks are repeatable. */
  setDropoutStep?: (model: tf.LayersModel, step: number) => void;
  /** Anything else that defines the run (frozen blocks, the checkpoint it started from). */
  identity?: Record<string, unknown>;
  /** Shown before the progress bar; defaults to the folder name. */
  label?: string;
  /** Where messages go; null for silence. Defaults to console.log. */
  log?: ((line: string) => void) | null;
  /** Install a SIGINT handler for the run (default true). */
  handleSigint?: boolean;
  /** How one batch becomes one update (lib/train/step.ts); defaults to the whole batch at once,
   * or to micro-batches (lib/train/microbatch.ts) where the batch does not fit. */
  trainStep?: TrainStep;
  /** Images per micro-batch; null or omitted = chosen from what fits (chooseMicroBatch). A run
   * records it in its identity, so a resumed run uses the same one. */
  microBatch?: number | null;
}

export interface TrainResult {
  status: 'completed' | 'interrupted';
  history: EpochRecord[];
  epochsCompleted: number;
  /** Epochs that were already done when this call started (0 for a fresh run). */
  resumedFrom: number;
  outDir: string;
  /** Why it stopped early, with how to resume. */
  message?: string;
}

export function makeOptimizer(spec: OptimizerSpec): tf.Optimizer {
  if (spec.kind === 'rmsprop') return tf.train.rmsprop(spec.lr, 0.9, 0, CROSSENTROPY_EPSILON);
  if (spec.kind === 'sgd') {
    const m = spec.momentum ?? 0;
    return m === 0 ? tf.train.sgd(spec.lr) : tf.train.momentum(spec.lr, m, false);
  }
  throw new ArtstyleError(
    'invalid-argument',
    `optimizer.kind: ${JSON.stringify((spec as { kind: unknown }).kind)} is not one of rmsprop, sgd`,
    'optimizer.kind',
  );
}

/**
 * tfjs 4.22's MomentumOptimizer.dispose() forgets its parent's learning-rate scalar, one tensor
 * per run; dispose it here so a sweep of many runs keeps memory flat.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  const c = (optimizer as unknown as { c?: tf.Tensor }).c;
  if (c && !c.isDisposed) c.dispose();
}

function validate(o: TrainOptions): void {
  check(
    Number.isInteger(o.epochs) && o.epochs >= 1,
    'epochs',
    `expected an integer >= 1, got ${o.epochs}`,
  );
  check(
    Number.isInteger(o.batchSize) && o.batchSize >= 1,
    'batchSize',
    `expected an integer >= 1, got ${o.batchSize}`,
  );
  check(
    Number.isFinite(o.optimizer.lr) && o.optimizer.lr > 0,
    'optimizer.lr',
    `expected a positive learning rate, got ${o.optimizer.lr}`,
  );
  const m = o.optimizer.momentum ?? 0;
  check(m >= 0 && m < 1, 'optimizer.momentum', `expected a value in [0, 1), got ${m}`);
  check(Number.isInteger(o.seed), 'seed', `expected an integer, got ${o.seed}`);
  check(
    o.trainSource.numClasses === o.valSource.numClasses,
    'valSource',
    `has ${o.valSource.numClasses} classes but trainSource has ${o.trainSource.numClasses}`,
  );
  check(o.trainSource.size > 0, 'trainSource', 'has no images');
  check(o.valSource.size > 0, 'valSource', 'has no images');
  if (o.classWeights) {
    check(
      o.classWeights.length === o.trainSource.numClasses,
      'classWeights',
      `expected one weight per class (${o.trainSource.numClasses}), got ${o.classWeights.length}`,
    );
    o.classWeights.forEach((w, i) =>
      check(
        Number.isFinite(w) && w >= 0,
        `classWeights[${i}]`,
        `expected a finite weight >= 0, got ${w}`,
      ),
    );
  }
  const outShape = o.model.outputs[0]?.shape;
  check(
    outShape !== undefined && outShape[outShape.length - 1] === o.trainSource.numClasses,
    'model',
    `outputs ${outShape?.[outShape.length - 1]} classes but the data has ${o.trainSource.numClasses}`,
  );
  check(o.model.trainableWeights.length > 0, 'model', 'has no trainable weights (all frozen)');
}

/** What defines a run: a checkpoint made under another identity is refused. Epochs are left out
 * on purpose, so a finished run can be extended by asking for more epochs. */
function runIdentity(o: TrainOptions, microBatch: number): Record<string, unknown> {
  const weights = orderedWeights(o.model);
  return {
    // Only where the batch is split, so that whole-batch runs keep their identity.
    ...(microBatch < o.batchSize ? { microBatch } : {}),
    checkpointVersion: CHECKPOINT_VERSION,
    optimizer: { kind: o.optimizer.kind, lr: o.optimizer.lr, momentum: o.optimizer.momentum ?? 0 },
    batchSize: o.batchSize,
    seed: o.seed,
    classWeights: o.classWeights ?? null,
    data: {
      trainSize: o.trainSource.size,
      valSize: o.valSource.size,
      numClasses: o.trainSource.numClasses,
      imageSize: o.trainSource.imageSize,
    },
    weights: weights.map((w) => w.variable.shape.join('x')).join(' '),
    trainable: weights.map((w) => (w.trainable ? '1' : '0')).join(''),
    extra: o.identity ?? {},
  };
}

function describeMismatch(saved: Record<string, unknown>, now: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
  const diffs: string[] = [];
  for (const k of keys) {
    const a = stableStringify(saved[k]);
    const b = stableStringify(now[k]);
    if (a !== b) {
      const short = (s: string | undefined) =>
        s === undefined ? 'absent' : s.length > 80 ? s.slice(0, 77) + '...' : s;
      diffs.push(`${k}: checkpoint ${short(a)}, now ${short(b)}`);
    }
  }
  return diffs.join('; ');
}

interface EvalResult {
  loss: number;
  accuracy: number;
}

/** Validation: inference mode, unweighted cross-entropy + regularisation. */
export async function evaluateLossAccuracy(
  model: tf.LayersModel,
  source: BatchSource,
  batchSize: number,
  preprocess?: (x: tf.Tensor4D) => tf.Tensor4D,
): Promise<EvalResult> {
  const k = source.numClasses;
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  for await (const batch of source.batches(0, inferenceBatchSize(model, batchSize))) {
    const [ceSum, right] = tf.tidy(() => {
      let x: tf.Tensor4D = tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, 3]);
      if (preprocess) x = preprocess(x);
      const probs = model.predict(x) as tf.Tensor2D;
      const labels = tf.tensor1d(batch.labels, 'int32');
      const ce = perSampleCrossEntropy(tf.oneHot(labels, k) as tf.Tensor2D, probs);
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'int32'));
      return [tf.sum(ce), hit];
    });
    lossSum += (await ceSum.data())[0]!;
    correct += (await right.data())[0]!;
    n += batch.n;
    tf.dispose([ceSum, right]);
    await new Promise((r) => setImmediate(r));
  }
  const reg = tf.tidy(() => regularizationLoss(model));
  const regValue = (await reg.data())[0]!;
  reg.dispose();
  return { loss: lossSum / n + regValue, accuracy: correct / n };
}

function fmt(x: number): string {
  return x.toFixed(4);
}

/**
 * Trains `model` for `epochs` epochs (see the module comment), or continues a run in `outDir`
 * after its last complete epoch. Returns when done or when stopped by Ctrl-C / `signal`.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  validate(o);
  const log = o.log === undefined ? (l: string) => console.log(l) : o.log;
  const outDir = path.resolve(o.outDir);
  const label = o.label ?? path.basename(outDir);
  const lock = acquireLock(outDir, log);
  const optimizer = makeOptimizer(o.optimizer);
  const restoreBatchNorm = frozenBatchNormInference(o.model);
  let stopReason: string | null = null;
  const onSigint = (): void => {
    if (stopReason !== null) {
      log?.('second Ctrl-C: quitting now; the last complete epoch stays checkpointed');
      process.exit(130);
    }
    stopReason = 'Ctrl-C';
    log?.('Ctrl-C: stopping at the end of this batch (press again to quit at once)');
  };
  const onAbort = (): void => {
    stopReason ??= 'abort signal';
  };
  if (o.handleSigint !== false) process.on('SIGINT', onSigint);
  o.signal?.addEventListener('abort', onAbort);
  if (o.signal?.aborted) onAbort();
  try {
    const ckDir = path.join(outDir, 'checkpoint');
    const ck = readCheckpoint(ckDir);
    const micro = chooseMicroBatch({
      model: o.model,
      batchSize: o.batchSize,
      requested: o.microBatch ?? null,
      recorded: ck?.manifest.config ?? null,
    });
    if (micro.microBatch < o.batchSize && !o.trainStep)
      log?.(
        `${label}: batch ${o.batchSize} in micro-batches of ${micro.microBatch} (${micro.reason})`,
      );
    const identity = runIdentity(o, micro.microBatch);
    const configHash = sha256(stableStringify(identity));
    let history: EpochRecord[] = [];
    let startEpoch = 0;
    let step = 0;
    if (ck) {
      if (ck.manifest.configHash !== configHash) {
        throw new ArtstyleError(
          'checkpoint-mismatch',
          `checkpoint ${ck.file} belongs to a different run (${describeMismatch(ck.manifest.config, identity)}); use another output folder, or delete ${outDir} to start this one over`,
          ck.file,
        );
      }
      restoreModelWeights(o.model, ck);
      await restoreOptimizer(optimizer, ck);
      history = ck.manifest.history.slice();
      startEpoch = ck.manifest.epoch;
      step = ck.manifest.step;
      writeHistory(outDir, history);
      if (startEpoch > 0)
        log?.(
          `${label}: resuming after epoch ${startEpoch} from ${ck.file}` +
            (startEpoch >= o.epochs ? ' (already complete)' : ''),
        );
    } else {
      // Epoch-0 checkpoint: a run killed in its first epoch resumes from exactly these weights,
      // even if the model was rebuilt with a different initialisation.
      await saveCheckpoint({
        dir: ckDir,
        model: o.model,
        optimizer,
        epoch: 0,
        targetEpochs: o.epochs,
        step: 0,
        seed: o.seed,
        configHash,
        config: identity,
        history,
      });
    }
    const resumedFrom = startEpoch;
    const k = o.trainSource.numClasses;
    const vars = orderedWeights(o.model)
      .filter((w) => w.trainable)
      .map((w) => w.variable.read() as tf.Variable);
    const classWeights = o.classWeights ? tf.tensor1d(o.classWeights, 'float32') : null;
    const batchesPerEpoch = Math.ceil(o.trainSource.size / o.batchSize);
    const memory = (activity: string, epoch: number, batch?: number): MemoryContext => ({
      label,
      activity,
      epoch: epoch + 1,
      ...(batch !== undefined ? { batch } : {}),
      batchSize: o.batchSize,
      microBatch: micro.microBatch,
      imageSize: o.trainSource.imageSize,
      backend: tf.getBackend(),
      saved: `epoch ${epoch} is checkpointed in ${ckDir} (a run with another micro-batch starts over: use a new output folder or delete ${outDir})`,
      smaller:
        micro.microBatch > 1
          ? `--micro-batch ${Math.floor(micro.microBatch / 2)}, ARTSTYLE_MICRO_BATCH or the profile's microBatch`
          : 'it is 1 image per micro-batch already: a smaller imageSize',
    });
    const runStep =
      o.trainStep ??
      (micro.microBatch < o.batchSize ? microBatchStep(micro.microBatch) : wholeBatchStep);
    try {
      for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
        const t0 = Date.now();
        const bar = createProgress(`${label} epoch ${epoch + 1}/${o.epochs}`, batchesPerEpoch);
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        let batchIndex = 0;
        for await (const batch of o.trainSource.batches(epoch, o.batchSize)) {
          if (stopReason !== null) break;
          o.setDropoutStep?.(o.model, step);
          const { loss, correct: right } = await runStep(batch, {
            model: o.model,
            optimizer,
            variables: vars,
            numClasses: k,
            classWeights,
            ...(o.preprocess ? { preprocess: o.preprocess } : {}),
          }).catch((e: unknown) => {
            throw outOfMemoryError(e, memory('training', epoch, batchIndex + 1)) ?? e;
          });
          if (!Number.isFinite(loss)) {
            throw new ArtstyleError(
              'non-finite-loss',
              `${label}: the training loss became ${loss} at epoch ${epoch + 1}, batch ${batchIndex + 1} (step ${step + 1}); training stopped. ` +
                `Try a lower learning rate or check the input images. The last complete epoch (${epoch}) is checkpointed in ${ckDir}`,
              `epoch ${epoch + 1}, batch ${batchIndex + 1}`,
            );
          }
          step++;
          batchIndex++;
          lossSum += loss * batch.n;
          correct += right;
          seen += batch.n;
          bar.update(batchIndex, `loss ${fmt(lossSum / seen)} accuracy ${fmt(correct / seen)}`);
          await o.callbacks?.onBatchEnd?.(epoch, batchIndex - 1, {
            loss,
            accuracy: right / batch.n,
            size: batch.n,
          });
          // Lets a pending SIGINT (or abort) be delivered between batches even on a fully
          // synchronous backend.
          await new Promise((r) => setImmediate(r));
        }
        if (stopReason !== null) {
          bar.end('stopped');
          const message =
            `${label}: stopped by ${stopReason} during epoch ${epoch + 1} (after ${batchIndex} of ${batchesPerEpoch} batches). ` +
            `Epoch ${epoch} is the last complete one, checkpointed in ${ckDir}; run the same command (or notebook cell) again to resume from epoch ${epoch + 1}.`;
          log?.(message);
          return {
            status: 'interrupted',
            history,
            epochsCompleted: epoch,
            resumedFrom,
            outDir,
            message,
          };
        }
        const val = await evaluateLossAccuracy(
          o.model,
          o.valSource,
          o.batchSize,
          o.preprocess,
        ).catch((e: unknown) => {
          throw outOfMemoryError(e, memory('validation', epoch)) ?? e;
        });
        const record: EpochRecord = {
          epoch: epoch + 1,
          loss: lossSum / seen,
          accuracy: correct / seen,
          val_loss: val.loss,
          val_accuracy: val.accuracy,
          seconds: (Date.now() - t0) / 1000,
        };
        history.push(record);
        await saveCheckpoint({
          dir: ckDir,
          model: o.model,
          optimizer,
          epoch: epoch + 1,
          targetEpochs: o.epochs,
          step,
          seed: o.seed,
          configHash,
          config: identity,
          history,
        });
        writeHistory(outDir, history);
        bar.end(
          `loss ${fmt(record.loss)} accuracy ${fmt(record.accuracy)} val_loss ${fmt(record.val_loss)} val_accuracy ${fmt(record.val_accuracy)}`,
        );
        await o.callbacks?.onEpochEnd?.(record, history);
      }
    } finally {
      classWeights?.dispose();
    }
    return {
      status: 'completed',
      history,
      epochsCompleted: Math.max(o.epochs, startEpoch),
      resumedFrom,
      outDir,
    };
  } finally {
    restoreBatchNorm();
    disposeOptimizer(optimizer);
    if (o.handleSigint !== false) process.off('SIGINT', onSigint);
    o.signal?.removeEventListener('abort', onAbort);
    lock.release();
  }
}
