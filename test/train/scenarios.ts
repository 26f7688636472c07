import * as tf from '@tensorflow/tfjs';
import { train, type TrainResult } from '../../lib/train/loop';
import { runSweep, type SweepOptions, type SweepResult } from '../../lib/train/sweep';
import { MemorySource, buildTinyModel, freezeFirst, scale, setDropoutStep } from './fixtures';

/** The training and sweep scenarios shared by the in-process reference and the child processes. */
export const SIZE = 8;

export function scenarioSources() {
  return {
    trainSource: new MemorySource([6, 5, 5], SIZE, 21, true),
    valSource: new MemorySource([3, 3, 3], SIZE, 22, false),
  };
}

export interface Hang {
  epoch: number;
  batch: number;
  model?: number | undefined;
  /** 'hang': announce and wait to be killed; 'sigint': send ourselves Ctrl-C and go on. */
  action?: 'hang' | 'sigint';
}

async function reached(hang: Hang): Promise<void> {
  if (hang.action === 'sigint') {
    process.kill(process.pid, 'SIGINT');
    return;
  }
  await hangHere();
}

function hangHere(): Promise<never> {
  process.stdout.write('HANG\n');
  return new Promise(() => {
    setInterval(() => undefined, 1000);
  });
}

export async function trainScenario(
  outDir: string,
  hang?: Hang,
  initSeed = 3,
  /** Aborted after epoch 2, batch 2 (the in-process stand-in for Ctrl-C). */
  abortMidway?: AbortController,
): Promise<{
  result: TrainResult;
  model: tf.LayersModel;
}> {
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: initSeed });
  const result = await train({
    model,
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    ...scenarioSources(),
    epochs: 3,
    batchSize: 4,
    outDir,
    seed: 9,
    preprocess: scale,
    setDropoutStep,
    log: null,
    ...(abortMidway ? { signal: abortMidway.signal } : {}),
    callbacks: {
      async onBatchEnd(epoch, batch) {
        if (hang && hang.epoch === epoch && hang.batch === batch) await reached(hang);
        if (abortMidway && epoch === 1 && batch === 1) abortMidway.abort();
      },
    },
  });
  return { result, model };
}

/** The sweep of the scenarios: three members of the tiny model from one pretraining run. */
export function sweepSpec(outDir: string, pretrainDir: string): SweepOptions {
  return {
    blocks: [0, 2, 4],
    fromCheckpoint: pretrainDir,
    buildModel: () => buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 77 }),
    freeze: freezeFirst,
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    ...scenarioSources(),
    epochs: 2,
    batchSize: 4,
    outDir,
    seed: 9,
    preprocess: scale,
    setDropoutStep,
    log: null,
  };
}

export async function sweepScenario(
  outDir: string,
  pretrainDir: string,
  hang?: Hang,
): Promise<SweepResult> {
  return runSweep({
    blocks: [0, 2, 4],
    fromCheckpoint: pretrainDir,
    buildModel: () => buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 77 }),
    freeze: freezeFirst,
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
    ...scenarioSources(),
    epochs: 2,
    batchSize: 4,
    outDir,
    seed: 9,
    preprocess: scale,
    setDropoutStep,
    log: null,
    callbacks: {
      async onBatchEnd(blocks, epoch, batch) {
        if (hang && hang.model === blocks && hang.epoch === epoch && hang.batch === batch)
          await reached(hang);
      },
    },
  });
}

export async function runChildScenario(
  mode: 'train' | 'sweep',
  outDir: string,
  hang?: Hang,
): Promise<void> {
  if (mode === 'train') {
    const { model, result } = await trainScenario(outDir, hang);
    if (result.message) process.stdout.write(result.message + '\n');
    model.dispose();
  } else {
    await sweepScenario(`${outDir}/sweep`, `${outDir}/pretrain`, hang);
  }
}
