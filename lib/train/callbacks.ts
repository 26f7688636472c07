import { ArtstyleError } from '../util/errors';
import { createProgress, type Progress } from '../util/progress';
import { evaluateLossAccuracy } from './forward';
import { FrozenPrefixValidation } from './frozen-prefix';
import { outOfMemoryError } from '../util/out-of-memory';
import { memoryContext, type BatchLogs, type FitCallback } from './fit';
import { writeHistory, type EpochRecord } from './history';
import { acquireLock, type FolderLock } from './lock';

/**
 * The trainer's standard callbacks (lib/train/fit.ts). Each does one thing; `train()` composes
 * them, and a caller that needs another combination (a sweep member that holds its own lock, a
 * bench without files) picks its own. Checkpoints and resume are in lib/train/resume.ts.
 */

/** Holds `run.outDir`'s lock for the run: two runs cannot share a folder. */
export function folderLock(): FitCallback {
  let lock: FolderLock | null = null;
  return {
    beforeFit(run) {
      lock = acquireLock(run.outDir, run.log);
    },
    cleanup() {
      lock?.release();
    },
  };
}

/** Stops the run at the next batch boundary when `signal` aborts. */
export function stopOnAbort(signal: AbortSignal): FitCallback {
  let onAbort: (() => void) | null = null;
  return {
    beforeFit(run) {
      onAbort = () => run.stop('abort signal');
      signal.addEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    },
    cleanup() {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Ctrl-C stops at the next batch boundary; a second Ctrl-C quits at once. SIGTERM (what a
 * scheduler sends before the time limit, on preemption and on scancel) stops the same way.
 */
export function stopOnCtrlC(): FitCallback {
  let onSigint: (() => void) | null = null;
  let onSigterm: (() => void) | null = null;
  return {
    beforeFit(run) {
      onSigint = () => {
        if (run.stopReason !== null) {
          run.log?.('second Ctrl-C: quitting now; the last complete epoch stays checkpointed');
          process.exit(130);
        }
        run.stop('Ctrl-C');
        run.log?.('Ctrl-C: stopping at the end of this batch (press again to quit at once)');
      };
      onSigterm = () => {
        if (run.stopReason !== null) process.exit(143);
        run.stop('SIGTERM');
        run.log?.('SIGTERM: stopping at the end of this batch');
      };
      process.on('SIGINT', onSigint).on('SIGTERM', onSigterm);
    },
    cleanup() {
      if (onSigint) process.off('SIGINT', onSigint);
      if (onSigterm) process.off('SIGTERM', onSigterm);
    },
  };
}

/** A non-finite training loss stops the run with an error naming the batch. */
export function nanGuard(): FitCallback {
  return {
    afterBatch(run, b) {
      if (Number.isFinite(b.loss)) return;
      const kept = run.checkpointDir ? ` is checkpointed in ${run.checkpointDir}` : ' is kept';
      throw new ArtstyleError(
        'non-finite-loss',
        `${run.label}: the training loss became ${b.loss} at epoch ${b.epoch + 1}, batch ${b.batch + 1} (step ${b.step + 1}); training stopped. ` +
          `Try a lower learning rate or check the input images. The last complete epoch (${b.epoch})${kept}`,
        `epoch ${b.epoch + 1}, batch ${b.batch + 1}`,
      );
    },
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}

/** A progress bar per epoch (terminal, log lines or notebook, lib/util/progress). */
export function progressBar(): FitCallback {
  let bar: Progress | null = null;
  return {
    beforeEpoch(run) {
      const total = Math.ceil(run.spec.trainSource.size / run.spec.batchSize);
      bar = createProgress(`${run.label} epoch ${run.epoch + 1}/${run.spec.epochs}`, total);
    },
    afterBatch(_run, b) {
      bar?.update(b.batch + 1, `loss ${fmt(b.epochLoss)} accuracy ${fmt(b.epochAccuracy)}`);
    },
    afterEpoch(_run, r) {
      bar?.end(
        `loss ${fmt(r.loss)} accuracy ${fmt(r.accuracy)} val_loss ${fmt(r.val_loss)} val_accuracy ${fmt(r.val_accuracy)}`,
      );
      bar = null;
    },
    afterFit(_run, result) {
      if (result.status === 'interrupted') bar?.end('stopped');
      bar = null;
    },
  };
}

/** history.json and history.csv in the run folder after each epoch (and on resume). */
export function historyFiles(): FitCallback {
  return {
    beforeFit(run) {
      if (run.restored) writeHistory(run.outDir, run.history);
    },
    afterEpoch(run) {
      writeHistory(run.outDir, run.history);
    },
  };
}

/**
 * Validation after each epoch: val_loss and val_accuracy as Keras reports them. The layers that
 * training cannot change run once, at the first validation; later ones start from their kept
 * output (the same numbers, lib/train/frozen-prefix.ts).
 */
export function validation(batchSize?: number): FitCallback {
  // The frozen prefix's values are kept from the first validation on (lib/train/frozen-prefix).
  let frozen: FrozenPrefixValidation | null | undefined;
  return {
    async epochMetrics(run) {
      const { model, valSource, preprocess } = run.spec;
      const size = batchSize ?? run.spec.batchSize;
      frozen ??= FrozenPrefixValidation.for(model, valSource.size);
      const v = await (
        frozen
          ? frozen.evaluate(valSource, size, preprocess)
          : evaluateLossAccuracy(model, valSource, size, preprocess)
      ).catch((e: unknown) => {
        throw outOfMemoryError(e, memoryContext(run, 'validation')) ?? e;
      });
      return { val_loss: v.loss, val_accuracy: v.accuracy };
    },
  };
}

/** The caller's per-batch and per-epoch hooks (the `callbacks` option of `train()`). */
export interface TrainCallbacks {
  /** After each training batch; `epoch` and `batch` are 0-based. */
  onBatchEnd?(epoch: number, batch: number, logs: BatchLogs): void | Promise<void>;
  /** After each epoch's validation and checkpoint. */
  onEpochEnd?(record: EpochRecord, history: EpochRecord[]): void | Promise<void>;
}

export function userCallbacks(c: TrainCallbacks): FitCallback {
  return {
    async afterBatch(_run, b) {
      await c.onBatchEnd?.(b.epoch, b.batch, { loss: b.loss, accuracy: b.accuracy, size: b.size });
    },
    async afterEpoch(run, record) {
      await c.onEpochEnd?.(record, run.history);
    },
  };
}
