import * as path from 'node:path';
import { ArtstyleError } from '../util/errors';
import { sha256 } from '../util/fs';
import {
  readCheckpoint,
  restoreModelWeights,
  restoreOptimizer,
  saveCheckpoint,
  stableStringify,
  CHECKPOINT_VERSION,
} from './checkpoint';
import { chooseRunStep, type FitCallback, type FitRun, type FitSpec } from './fit';
import { orderedWeights } from './weights';

/**
 * Checkpoints and exact resume: a checkpoint (weights, optimizer slots, step, history) after each
 * epoch in `<outDir>/checkpoint`; a run started on a folder with a checkpoint continues after its
 * last complete epoch and ends with the same weights and history as an uninterrupted one.
 */

/** What defines a run: a checkpoint made under another identity is refused. Epochs are left out
 * on purpose, so a finished run can be extended by asking for more epochs. */
export function runIdentity(
  o: FitSpec,
  extra: Record<string, unknown> = {},
  microBatch: number = o.batchSize,
): Record<string, unknown> {
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
    extra,
  };
}

function describeMismatch(saved: Record<string, unknown>, now: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
  const short = (s: string | undefined) =>
    s === undefined ? 'absent' : s.length > 80 ? s.slice(0, 77) + '...' : s;
  const diffs: string[] = [];
  for (const k of keys) {
    const a = stableStringify(saved[k]);
    const b = stableStringify(now[k]);
    if (a !== b) diffs.push(`${k}: checkpoint ${short(a)}, now ${short(b)}`);
  }
  return diffs.join('; ');
}

interface Identity {
  config: Record<string, unknown>;
  configHash: string;
}

async function save(run: FitRun, id: Identity, epoch: number): Promise<void> {
  await saveCheckpoint({
    dir: run.checkpointDir!,
    model: run.spec.model,
    optimizer: run.optimizer,
    epoch,
    targetEpochs: run.spec.epochs,
    step: run.step,
    seed: run.spec.seed,
    configHash: id.configHash,
    config: id.config,
    history: run.history,
  });
}

async function restoreOrStart(
  run: FitRun,
  id: Identity,
  ck: ReturnType<typeof readCheckpoint>,
): Promise<void> {
  if (!ck) {
    // Epoch-0 checkpoint: a run killed in its first epoch resumes from exactly these weights,
    // even if the model was rebuilt with a different initialisation.
    await save(run, id, 0);
    return;
  }
  if (ck.manifest.configHash !== id.configHash) {
    throw new ArtstyleError(
      'checkpoint-mismatch',
      `checkpoint ${ck.file} belongs to a different run (${describeMismatch(ck.manifest.config, id.config)}); use another output folder, or delete ${run.outDir} to start this one over`,
      ck.file,
    );
  }
  restoreModelWeights(run.spec.model, ck);
  await restoreOptimizer(run.optimizer, ck);
  run.history = ck.manifest.history.slice();
  run.epoch = run.resumedFrom = ck.manifest.epoch;
  run.step = ck.manifest.step;
  run.restored = true;
  if (run.epoch > 0)
    run.log?.(
      `${run.label}: resuming after epoch ${run.epoch} from ${ck.file}` +
        (run.epoch >= run.spec.epochs ? ' (already complete)' : ''),
    );
}

/**
 * Resumes from `<outDir>/checkpoint` (refusing one of another run: `identity` names what else
 * defines the run, e.g. the frozen blocks) and checkpoints after every epoch.
 */
export function checkpoints(identity: Record<string, unknown> = {}): FitCallback {
  let id: Identity | null = null;
  return {
    async beforeFit(run) {
      run.checkpointDir = path.join(run.outDir, 'checkpoint');
      const ck = readCheckpoint(run.checkpointDir);
      // A run that resumes keeps the micro-batch its checkpoint recorded.
      if (ck) chooseRunStep(run, ck.manifest.config);
      const config = runIdentity(run.spec, identity, run.microBatch);
      id = { config, configHash: sha256(stableStringify(config)) };
      await restoreOrStart(run, id, ck);
    },
    async afterEpoch(run, record) {
      await save(run, id!, record.epoch);
    },
  };
}
