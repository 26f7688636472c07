import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradients } from '../../lib/backend/wasm-gradients';
import { setDropoutStep } from '../../lib/models/seeded-dropout';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { makeOptimizer } from '../../lib/train/loop';
import { microBatchStep } from '../../lib/train/microbatch';
import { parallelStep, shardsOf, type ParallelStep } from '../../lib/train/parallel';
import { wholeBatchStep, type StepResult, type TrainStep } from '../../lib/train/step';
import type { Batch } from '../../lib/train/types';
import { orderedWeights } from '../../lib/train/weights';
import { tempDir } from '../tmp';
import { MemorySource, scale } from './fixtures';
import { buildParallelNet, CLASSES, parallelTrainScenario, SIZE } from './parallel-scenario';

async function firstBatch(n: number): Promise<Batch> {
  const source = new MemorySource([4, 4, 4], SIZE, 21, true);
  const it = source.batches(0, n)[Symbol.asyncIterator]();
  return (await it.next()).value as Batch;
}

interface Outcome {
  results: StepResult[];
  before: Float32Array[];
  after: Float32Array[];
  names: string[];
}

/** Two updates of a fresh network with `step` (optionally with every BN frozen). */
async function twoUpdates(step: TrainStep, freezeBn: boolean, n = 8): Promise<Outcome> {
  const model = buildParallelNet();
  if (freezeBn) for (const l of model.layers) if (/^bn/.test(l.name)) l.trainable = false;
  const optimizer = makeOptimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9 });
  const weights = orderedWeights(model);
  const variables = weights.filter((w) => w.trainable).map((w) => w.variable.read() as tf.Variable);
  const read = () => weights.map((w) => w.variable.read().dataSync().slice() as Float32Array);
  const before = read();
  const batch = await firstBatch(n);
  const ctx = {
    model,
    optimizer,
    variables,
    numClasses: CLASSES,
    classWeights: null,
    preprocess: scale,
  };
  const results: StepResult[] = [];
  for (const s of [5, 6]) {
    setDropoutStep(model, s);
    results.push(await step(batch, ctx));
  }
  const after = read();
  optimizer.dispose();
  model.dispose();
  return { results, before, after, names: weights.map((w) => w.name) };
}

function maxDiff(a: Outcome, b: Outcome): { diff: number; update: number; worst: string } {
  let diff = 0;
  let update = 0;
  let worst = '';
  a.after.forEach((w, i) => {
    for (let j = 0; j < w.length; j++) {
      const d = Math.abs(w[j]! - b.after[i]![j]!);
      if (d > diff) [diff, worst] = [d, a.names[i]!];
      update = Math.max(update, Math.abs(w[j]! - a.before[i]![j]!));
    }
  });
  return { diff, update, worst };
}

/** Two updates with `parallel` equal microBatchStep(m)'s bit for bit (BN in training mode); closes it. */
async function assertSameAsMicroBatches(parallel: ParallelStep, m: number, n: number) {
  try {
    const threads = await twoUpdates(parallel.step, false, n);
    const micro = await twoUpdates(microBatchStep(m), false, n);
    const { diff, update } = maxDiff(threads, micro);
    assert.ok(update > 1e-3, `the update is not trivial (${update})`);
    assert.equal(diff, 0, 'bit-identical weights, moving statistics included');
    assert.deepEqual(threads.results, micro.results);
  } finally {
    await parallel.close();
  }
}

for (const backend of ['cpu', 'wasm']) {
  test(`${backend}: 2 worker threads make exactly the update of microBatchStep(n / 2), BN in training mode`, async () => {
    if (backend === 'wasm') registerWasmGradients();
    await tf.setBackend(backend);
    const parallel = await parallelStep({ workers: 2 });
    await assertSameAsMicroBatches(parallel, 4, 8);
  });

  test(`${backend}: the main thread and 1 worker, as the trainer runs 2 cores, make exactly microBatchStep(4)'s update`, async () => {
    await tf.setBackend(backend);
    const parallel = await parallelStep({ workers: 1, microBatch: 4, mainThread: true });
    await assertSameAsMicroBatches(parallel, 4, 8);
  });

  test(`${backend}: with batch norm frozen, 2 threads match the whole-batch step (float rounding)`, async () => {
    await tf.setBackend(backend);
    const parallel = await parallelStep({ workers: 2 });
    try {
      const threads = await twoUpdates(parallel.step, true);
      const whole = await twoUpdates(wholeBatchStep, true);
      const { diff, update, worst } = maxDiff(threads, whole);
      assert.ok(update > 1e-3, `the update is not trivial (${update})`);
      assert.ok(diff < 1e-5 * Math.max(1, update), `weights differ by ${diff} (${worst})`);
      threads.results.forEach((r, i) => {
        assert.equal(r.correct, whole.results[i]!.correct);
        assert.ok(Math.abs(r.loss - whole.results[i]!.loss) < 1e-5);
      });
    } finally {
      await parallel.close();
    }
  });
}

for (const [workers, microBatch, n, main] of [
  [2, 2, 8, 0],
  [3, 3, 8, 0],
  [1, 3, 8, 0],
  [2, 4, 7, 0],
  [1, 4, 8, 1],
  [1, 2, 8, 1],
  [2, 2, 7, 1],
]) {
  const who = main ? `the main thread and ${workers} worker(s)` : `${workers} worker(s)`;
  test(`cpu: micro-batches of ${microBatch} dealt to ${who} make exactly microBatchStep(${microBatch})'s update (batch ${n})`, async () => {
    await tf.setBackend('cpu');
    const parallel = await parallelStep({
      workers: workers!,
      microBatch: microBatch!,
      mainThread: main === 1,
    });
    await assertSameAsMicroBatches(parallel, microBatch!, n!);
  });
}

test('cpu: a batch no larger than the micro-batch is trained whole, as microBatchStep does', async () => {
  await tf.setBackend('cpu');
  const parallel = await parallelStep({ workers: 2, microBatch: 8 });
  try {
    const threads = await twoUpdates(parallel.step, false, 6);
    const whole = await twoUpdates(wholeBatchStep, false, 6);
    assert.equal(maxDiff(threads, whole).diff, 0);
    assert.deepEqual(threads.results, whole.results);
  } finally {
    await parallel.close();
  }
});

test('parallelStep refuses a micro-batch that is not a positive integer, naming it', async () => {
  await tf.setBackend('cpu');
  await assert.rejects(parallelStep({ workers: 1, microBatch: 0 }), /microBatch/);
});

test('shards are cut as micro-batches are: ceil(n / workers) images, the last one shorter', () => {
  assert.deepEqual(shardsOf(16, 2), [
    [0, 8],
    [8, 8],
  ]);
  assert.deepEqual(shardsOf(7, 2), [
    [0, 4],
    [4, 3],
  ]);
  assert.deepEqual(shardsOf(1, 2), [[0, 1]]);
});

test('a 2-thread training run killed with SIGKILL mid-epoch resumes bit-identically, and equals the same run on 1 thread', async () => {
  await tf.setBackend('cpu');
  const ref = tempDir('artstyle-parallel-');
  const done = await parallelTrainScenario(ref, 1);
  assert.equal(done.status, 'completed');
  const dir = tempDir('artstyle-parallel-');
  const child = path.join(__dirname, 'child-parallel.js');
  const run = (args: string[], kill: boolean) =>
    new Promise<{ out: string; signal: string | null }>((resolve, reject) => {
      const p = spawn(process.execPath, [child, dir, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ARTSTYLE_PROGRESS: 'silent' },
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (kill && out.includes('HANG')) p.kill('SIGKILL');
      });
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code, signal) =>
        !kill && code !== 0 ? reject(new Error(`child failed: ${err}`)) : resolve({ out, signal }),
      );
    });
  const killed = await run(['1', '1'], true);
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(readCheckpoint(path.join(dir, 'checkpoint'))!.manifest.epoch, 1);
  assert.ok((await run([], false)).out.includes('DONE'));
  const a = readCheckpoint(path.join(ref, 'checkpoint'))!;
  const b = readCheckpoint(path.join(dir, 'checkpoint'))!;
  const strip = (h: typeof a.manifest.history) => h.map(({ seconds: _s, ...rest }) => rest);
  assert.deepEqual(strip(b.manifest.history), strip(a.manifest.history));
  assert.ok(a.data.equals(b.data), 'model and optimizer state identical byte for byte');
});
