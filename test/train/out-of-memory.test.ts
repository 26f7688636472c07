import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { memoryErrorKind, outOfMemoryError } from '../../lib/util/out-of-memory';
import { ArtstyleError } from '../../lib/util/errors';
import { tempDir } from '../tmp';

test('an impossible batch on wasm ends with the named error and leaves earlier outputs intact', () => {
  const dir = tempDir('artstyle-oom-');
  const child = spawnSync(process.execPath, [path.join(__dirname, 'child-oom.js'), dir], {
    encoding: 'utf8',
    env: { ...process.env, ARTSTYLE_PROGRESS: 'silent' },
    timeout: 300_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const line = child.stdout.trim().split('\n').pop()!;
  const { error } = JSON.parse(line) as {
    error: { name: string; code: string; subject: string; message: string } | null;
  };
  assert.ok(error, 'the huge batch failed');
  assert.equal(error.name, 'ArtstyleError');
  assert.equal(error.code, 'out-of-memory');
  assert.equal(error.subject, 'huge epoch 1, batch 1');
  assert.match(
    error.message,
    /^huge: the wasm backend ran out of its 4 GiB heap during training \(epoch 1, batch 1\)/,
  );
  assert.match(error.message, /batches of 16 images of 512x512/);
  assert.match(error.message, /--micro-batch 8/);
  assert.match(error.message, /--profile teaching/);
  assert.match(error.message, /tfjs-node/);
  assert.doesNotMatch(error.message, /wasm:\/\/|\n\s+at /, 'no wasm stack trace');
  // The earlier run's outputs and the failed run's epoch-0 checkpoint are whole and readable.
  const small = readCheckpoint(path.join(dir, 'small', 'checkpoint'));
  assert.equal(small?.manifest.epoch, 1);
  assert.ok(fs.existsSync(path.join(dir, 'small', 'history.json')));
  assert.equal(readCheckpoint(path.join(dir, 'huge', 'checkpoint'))?.manifest.epoch, 0);
  const leftovers = fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /\.tmp|~$/.test(f));
  assert.deepEqual(leftovers, [], 'no half-written files');
});

test('memory errors are recognised by kind; anything else is left alone', () => {
  const wasm = new WebAssembly.RuntimeError('memory access out of bounds');
  assert.equal(memoryErrorKind(wasm), 'wasm-heap');
  assert.equal(memoryErrorKind(new RangeError('Array buffer allocation failed')), 'process');
  assert.equal(
    memoryErrorKind(new Error('OOM when allocating tensor with shape[16,147,147,128]')),
    'gpu',
  );
  assert.equal(memoryErrorKind(new Error('something else')), null);
  assert.equal(memoryErrorKind(new RangeError('Invalid time value')), null);
  const e = outOfMemoryError(new RangeError('Array buffer allocation failed'), {
    label: 'block3',
    activity: 'training',
    epoch: 2,
    batch: 7,
    batchSize: 16,
    microBatch: 4,
    imageSize: 299,
    backend: 'cpu',
    smaller: '--micro-batch 2',
  });
  assert.ok(e instanceof ArtstyleError);
  assert.match(
    e.message,
    /^block3: the process ran out of memory .* during training \(epoch 2, batch 7\), batches of 16 images of 299x299 in micro-batches of 4, backend cpu\./,
  );
  assert.equal(
    outOfMemoryError(new Error('x'), {
      label: 'a',
      activity: 'b',
      batchSize: 1,
      imageSize: 1,
      backend: 'c',
      smaller: 'd',
    }),
    null,
  );
});
