import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildClassifier } from '../../lib/models/classifier';
import { freezeBase } from '../../lib/models/freeze';
import { buildXception } from '../../lib/models/xception';
import { resolveParams } from '../../lib/pipeline/params';
import { studyConfig, MICRO_BATCH_ENV } from '../../lib/pipeline/study1';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { train } from '../../lib/train/loop';
import {
  chooseMicroBatch,
  chooseThreads,
  estimateStepHeap,
  parseThreads,
  WASM_HEAP_MAX_BYTES,
} from '../../lib/train/microbatch';
import { ArtstyleError } from '../../lib/util/errors';
import {
  MemorySource,
  buildTinyModel,
  scale,
  setDropoutStep,
  silentLog,
  weightValues,
} from './fixtures';
import { tempDir } from '../tmp';

test('the automatic micro-batch: whole batch off wasm and where it fits, else the largest even split that fits', () => {
  // Full Xception at 299 px with the study's head, as the full profile builds it (no weights run).
  const model = buildClassifier(buildXception({ inputSize: 299, widthMultiplier: 1, seed: 1 }), {
    numClasses: 12,
    denseUnits: 256,
    l2: 0.0075,
    dropout: 0.5,
    seed: 1,
  });
  try {
    assert.equal(chooseMicroBatch({ model, batchSize: 16, backend: 'tensorflow' }).microBatch, 16);
    assert.equal(chooseMicroBatch({ model, batchSize: 16, backend: 'cpu' }).microBatch, 16);
    // Everything trains (fine-tuning with N = 0): measured, 4 images fit the heap and 8 do not.
    const all = chooseMicroBatch({ model, batchSize: 16, backend: 'wasm' });
    assert.equal(all.microBatch, 4, all.reason);
    const e = estimateStepHeap(model);
    assert.ok(e.fixed + 4 * e.perImage < WASM_HEAP_MAX_BYTES);
    assert.ok(e.fixed + 8 * e.perImage > WASM_HEAP_MAX_BYTES);
    // Base frozen (pretraining): measured, 8 fit and 16 do not; 16 = 2 x 8.
    freezeBase(model);
    assert.equal(chooseMicroBatch({ model, batchSize: 16, backend: 'wasm' }).microBatch, 8);
    assert.equal(chooseMicroBatch({ model, batchSize: 3, backend: 'wasm' }).microBatch, 3);
    // A set value wins (capped at the batch); a resumed run keeps what its checkpoint recorded.
    assert.equal(
      chooseMicroBatch({ model, batchSize: 16, requested: 8, backend: 'wasm' }).microBatch,
      8,
    );
    assert.equal(chooseMicroBatch({ model, batchSize: 16, requested: 32 }).microBatch, 16);
    assert.equal(
      chooseMicroBatch({ model, batchSize: 16, backend: 'wasm', recorded: { microBatch: 2 } })
        .microBatch,
      2,
    );
    assert.equal(
      chooseMicroBatch({ model, batchSize: 16, backend: 'wasm', recorded: {} }).microBatch,
      16,
    );
    assert.throws(() => chooseMicroBatch({ model, batchSize: 16, requested: 0 }), /microBatch/);
  } finally {
    model.dispose();
  }
});

test('the micro-batch is recorded with the run: resume uses it, another one is refused by name', async () => {
  await tf.setBackend('cpu');
  const dir = tempDir('artstyle-micro-');
  const run = async (microBatch: number | null, epochs: number) => {
    const model = buildTinyModel({ imageSize: 8, numClasses: 3, seed: 1 });
    const log = silentLog();
    try {
      const r = await train({
        model,
        optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
        trainSource: new MemorySource([6, 5, 4], 8, 11, true),
        valSource: new MemorySource([3, 3, 2], 8, 12, false),
        epochs,
        batchSize: 8,
        microBatch,
        outDir: dir,
        seed: 3,
        preprocess: scale,
        setDropoutStep,
        log,
      });
      return { r, weights: weightValues(model), log: log.lines };
    } finally {
      model.dispose();
    }
  };
  const first = await run(3, 1);
  assert.ok(first.log.some((l) => /batch 8 in micro-batches of 3 \(set by microBatch\)/.test(l)));
  const ck = readCheckpoint(path.join(dir, 'checkpoint'))!;
  assert.equal(ck.manifest.config['microBatch'], 3);
  // Automatic on resume: the recorded 3 (the cpu backend alone would choose the whole batch).
  const resumed = await run(null, 2);
  assert.equal(resumed.r.resumedFrom, 1);
  assert.ok(
    resumed.log.some((l) => /micro-batches of 3 \(as recorded in the checkpoint\)/.test(l)),
  );
  await assert.rejects(
    () => run(4, 3),
    (e: unknown) =>
      e instanceof ArtstyleError &&
      e.code === 'checkpoint-mismatch' &&
      /microBatch: checkpoint 3, now 4/.test(e.message),
  );
  // A whole-batch run records nothing, so its identity is what it was before micro-batches.
  const whole = tempDir('artstyle-micro-');
  const model = buildTinyModel({ imageSize: 8, numClasses: 3, seed: 1 });
  await train({
    model,
    optimizer: { kind: 'sgd', lr: 0.05 },
    trainSource: new MemorySource([2, 2, 2], 8, 11, true),
    valSource: new MemorySource([1, 1, 1], 8, 12, false),
    epochs: 1,
    batchSize: 4,
    outDir: whole,
    seed: 3,
    log: null,
  });
  model.dispose();
  assert.equal(
    'microBatch' in readCheckpoint(path.join(whole, 'checkpoint'))!.manifest.config,
    false,
  );
});

test('ARTSTYLE_MICRO_BATCH sets the profile key (a number or auto), validated by name', () => {
  const params = resolveParams({ profile: 'teaching' }, {});
  const saved = process.env[MICRO_BATCH_ENV];
  try {
    process.env[MICRO_BATCH_ENV] = '4';
    assert.equal(studyConfig(params).microBatch, 4);
    assert.equal(studyConfig(params, { microBatch: 2 }).microBatch, 2, 'an explicit override wins');
    process.env[MICRO_BATCH_ENV] = 'auto';
    assert.equal(studyConfig(params).microBatch, null);
    process.env[MICRO_BATCH_ENV] = 'x';
    assert.throws(() => studyConfig(params), /microBatch: expected an integer >= 1/);
  } finally {
    if (saved === undefined) delete process.env[MICRO_BATCH_ENV];
    else process.env[MICRO_BATCH_ENV] = saved;
  }
});

test('the automatic thread count: one per core and per micro-batch, within free memory, wasm only', () => {
  const model = buildTinyModel({ imageSize: 16, numClasses: 3, seed: 1 });
  try {
    const e = estimateStepHeap(model);
    const plenty = 1e12;
    const base = { model, batchSize: 16, backend: 'wasm', freeBytes: plenty };
    assert.equal(chooseThreads({ ...base, microBatch: 8, cores: 2 }).threads, 2);
    assert.equal(chooseThreads({ ...base, microBatch: 8, cores: 16 }).threads, 2, 'one per shard');
    assert.equal(chooseThreads({ ...base, microBatch: 2, cores: 4 }).threads, 4, 'one per core');
    assert.equal(chooseThreads({ ...base, microBatch: 16, cores: 8 }).threads, 1, 'whole batch');
    assert.equal(chooseThreads({ ...base, microBatch: 4, cores: 8, backend: 'cpu' }).threads, 1);
    // Room for exactly three threads' heaps in 70% of the free memory.
    const perThread = e.fixed + 2 * e.perImage;
    const tight = chooseThreads({
      ...base,
      microBatch: 2,
      cores: 8,
      freeBytes: (3.5 * perThread) / 0.7,
    });
    assert.equal(tight.threads, 3);
    assert.match(tight.reason, /free memory holds 3/);
    assert.equal(chooseThreads({ ...base, microBatch: 2, cores: 8, freeBytes: 1 }).threads, 1);
    // Asked for: wins, capped at the micro-batches of a batch, on any backend.
    const asked = chooseThreads({ ...base, microBatch: 4, requested: 9, backend: 'cpu' });
    assert.deepEqual(asked, { threads: 4, reason: 'set by threads' });
    assert.throws(() => chooseThreads({ ...base, microBatch: 4, requested: 0 }), /threads/);
  } finally {
    model.dispose();
  }
});

test('ARTSTYLE_THREADS / --threads: an integer >= 1 or unset, an error naming the setting otherwise', () => {
  assert.equal(parseThreads(undefined), null);
  assert.equal(parseThreads(' '), null);
  assert.equal(parseThreads('3'), 3);
  assert.throws(
    () => parseThreads('two'),
    (e: unknown) => {
      assert.ok(e instanceof ArtstyleError);
      assert.match(e.message, /ARTSTYLE_THREADS/);
      return true;
    },
  );
  assert.throws(() => parseThreads('0', '--threads'), /--threads/);
  assert.throws(() => parseThreads('1.5'), /ARTSTYLE_THREADS/);
});
