import * as tf from '@tensorflow/tfjs';
import { train, type TrainResult } from '../../lib/train/loop';
import {
  mergeSweep,
  sweepMember,
  type SweepMemberResult,
  type SweepOptions,
} from '../../lib/train/sweep';
import { buildTinyModel, freezeFirst, scale, setDropoutStep } from '../train/fixtures';
import { SIZE, scenarioSources } from '../train/scenarios';

/**
 * A training run and a one-member sweep (what a Slurm array task runs) that, when asked, pause
 * after epoch 2 batch 2 until a real SIGTERM from outside has arrived, then go on: the run must
 * stop at the next batch boundary as it does for Ctrl-C. Shared by the in-process reference and
 * the child process, so both train exactly the same run.
 */
export type AtBatch = (epoch: number, batch: number) => Promise<void>;

export async function termTrain(outDir: string, atBatch?: AtBatch): Promise<TrainResult> {
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 3 });
  try {
    return await train({
      model,
      optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
      ...scenarioSources(),
      epochs: 3,
      batchSize: 4,
      outDir,
      seed: 9,
      preprocess: scale,
      setDropoutStep,
      log: (l) => process.stdout.write(`${l}\n`),
      ...(atBatch ? { callbacks: { onBatchEnd: atBatch } } : {}),
    });
  } finally {
    model.dispose();
  }
}

function memberOptions(outDir: string, pretrainDir: string, atBatch?: AtBatch): SweepOptions {
  return {
    blocks: [0, 2],
    fromCheckpoint: pretrainDir,
    buildModel: () => buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 77 }),
    freeze: freezeFirst,
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    ...scenarioSources(),
    epochs: 3,
    batchSize: 4,
    outDir,
    seed: 9,
    preprocess: scale,
    setDropoutStep,
    log: (l) => process.stdout.write(`${l}\n`),
    ...(atBatch ? { callbacks: { onBatchEnd: (_b, e, i) => atBatch(e, i) } } : {}),
  };
}

/** One member of a two-member sweep, as a Slurm array task runs it (`sweep --member N`). */
export function termMember(
  outDir: string,
  pretrainDir: string,
  blocks: number,
  atBatch?: AtBatch,
): Promise<SweepMemberResult> {
  return sweepMember(memberOptions(outDir, pretrainDir, atBatch), blocks);
}

/** The merge unit over the members' folders (`sweep --merge`). */
export function termMerge(outDir: string, pretrainDir: string) {
  return mergeSweep(memberOptions(outDir, pretrainDir));
}

/** Announces `TERM-ME` at epoch 2 batch 2 and waits until the SIGTERM has been delivered. */
export const waitForTerm: AtBatch = async (epoch, batch) => {
  if (epoch !== 1 || batch !== 1) return;
  const got = new Promise((r) => process.once('SIGTERM', r));
  // A signal listener does not keep the process alive; this timer does, until the signal came.
  const alive = setInterval(() => undefined, 1000);
  process.stdout.write('TERM-ME\n');
  await got;
  clearInterval(alive);
};

export { tf };
