import {
  folderLock,
  historyFiles,
  nanGuard,
  progressBar,
  stopOnAbort,
  stopOnCtrlC,
  userCallbacks,
  validation,
  type TrainCallbacks,
} from './callbacks';
import { fit, type FitCallback, type FitResult, type FitSpec } from './fit';
import { checkpoints } from './resume';

/**
 * `train()`: `fit` with the standard callbacks, for a run that owns its folder. Losses and metrics
 * follow Keras: the training loss is the mean over the batch of the per-sample categorical
 * cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7]), each multiplied by its class weight
 * when class weights are given (Keras `class_weight`: divided by the batch size, not by the sum of
 * weights), plus the model's regularisation losses; the epoch's loss is the mean of the batch
 * losses weighted by batch size. Accuracy is never weighted. Validation loss is unweighted
 * cross-entropy plus the regularisation losses, as Keras reports `val_loss`.
 */

/** How a run is watched and stopped (everything of `train()` that is not the run itself). */
export interface RunControls {
  /** Anything else that defines the run (frozen blocks, the checkpoint it started from). */
  identity?: Record<string, unknown> | undefined;
  callbacks?: TrainCallbacks | undefined;
  /** Aborting stops the run at the next batch boundary (as Ctrl-C does). */
  signal?: AbortSignal | undefined;
  /** Install a SIGINT handler for the run (default true). */
  handleSigint?: boolean | undefined;
  /** Take the output folder's lock (default true; false when the caller holds it). */
  lock?: boolean | undefined;
}

export type TrainOptions = FitSpec & RunControls;
export type TrainResult = FitResult;

/** The standard callbacks: lock, Ctrl-C / abort, checkpoints, history, validation, NaN guard,
 * progress, then the caller's hooks, in the order they fire. */
export function standardCallbacks(o: RunControls): FitCallback[] {
  return [
    ...(o.lock !== false ? [folderLock()] : []),
    ...(o.handleSigint !== false ? [stopOnCtrlC()] : []),
    ...(o.signal ? [stopOnAbort(o.signal)] : []),
    checkpoints(o.identity ?? {}),
    historyFiles(),
    validation(),
    nanGuard(),
    progressBar(),
    ...(o.callbacks ? [userCallbacks(o.callbacks)] : []),
  ];
}

/**
 * Trains `model` for `epochs` epochs, or continues a run in `outDir` after its last complete
 * epoch. Returns when done or when stopped by Ctrl-C / `signal`.
 */
export function train(o: TrainOptions): Promise<TrainResult> {
  return fit(o, standardCallbacks(o));
}
