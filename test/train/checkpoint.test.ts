import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpointWeights } from '../../lib/train/checkpoint';
import { acquireLock, LOCK_FILE } from '../../lib/train/lock';
import { train } from '../../lib/train/loop';
import { ArtstyleError } from '../../lib/util/errors';
import { MemorySource, buildTinyModel, silentLog } from './fixtures';
import { sweepScenario, trainScenario } from './scenarios';
import { tempDir } from '../tmp';

function tmp(): string {
  return tempDir('artstyle-ckpt-');
}

const SIZE = 8;
async function runOnce(dir: string, lr = 0.01, epochs = 1) {
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 3, seed: 1, dropout: false });
  try {
    return await train({
      model,
      optimizer: { kind: 'rmsprop', lr },
      trainSource: new MemorySource([3, 3, 2], SIZE, 1, true),
      valSource: new MemorySource([2, 2, 2], SIZE, 2, false),
      epochs,
      batchSize: 4,
      outDir: dir,
      seed: 1,
      log: null,
    });
  } finally {
    model.dispose();
  }
}

const isErr = (code: string, fileFragment: string) => (e: unknown) =>
  e instanceof ArtstyleError && e.code === code && (e.subject ?? '').includes(fileFragment);

test('a damaged weights file, an edited manifest and a foreign file are named, never loaded', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  await runOnce(dir);
  const ckDir = path.join(dir, 'checkpoint');
  const manifestFile = path.join(ckDir, 'checkpoint.json');
  const manifestText = fs.readFileSync(manifestFile, 'utf8');
  const bin = path.join(ckDir, JSON.parse(manifestText).weightsFile as string);
  const original = fs.readFileSync(bin);

  const flipped = Buffer.from(original);
  flipped[10] = flipped[10]! ^ 0xff;
  fs.writeFileSync(bin, flipped);
  await assert.rejects(runOnce(dir, 0.01, 2), isErr('corrupt-checkpoint', '.bin'));
  fs.writeFileSync(bin, original);

  fs.writeFileSync(manifestFile, manifestText.replace('"epoch": 1', '"epoch": 7'));
  await assert.rejects(
    runOnce(dir, 0.01, 2),
    (e: unknown) =>
      isErr('corrupt-checkpoint', 'checkpoint.json')(e) &&
      /fails its checksum/.test((e as Error).message),
  );
  fs.writeFileSync(manifestFile, manifestText.slice(0, 100));
  await assert.rejects(runOnce(dir, 0.01, 2), isErr('corrupt-checkpoint', 'checkpoint.json'));
  fs.writeFileSync(manifestFile, JSON.stringify({ format: 'tfjs-layers', modelTopology: {} }));
  await assert.rejects(runOnce(dir, 0.01, 2), isErr('foreign-checkpoint', 'checkpoint.json'));
  fs.writeFileSync(manifestFile, manifestText);
  fs.rmSync(bin);
  await assert.rejects(
    runOnce(dir, 0.01, 2),
    (e: unknown) =>
      isErr('corrupt-checkpoint', '.bin')(e) && /is missing/.test((e as Error).message),
  );
  fs.writeFileSync(bin, original);
  // Restored: it resumes and finishes.
  const r = await runOnce(dir, 0.01, 2);
  assert.equal(r.resumedFrom, 1);
  assert.equal(r.history.length, 2);
});

test('a checkpoint of another configuration or architecture is refused, naming what differs', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  await runOnce(dir);
  await assert.rejects(
    runOnce(dir, 0.5),
    (e: unknown) =>
      isErr('checkpoint-mismatch', 'checkpoint.json')(e) &&
      /optimizer: checkpoint .*"lr":0.01.*now .*"lr":0.5/.test((e as Error).message),
  );
  const other = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [SIZE, SIZE, 3] }), tf.layers.dense({ units: 3 })],
  });
  assert.throws(
    () => loadCheckpointWeights(other, path.join(dir, 'checkpoint')),
    (e: unknown) =>
      e instanceof ArtstyleError &&
      e.code === 'checkpoint-mismatch' &&
      /another architecture/.test(e.message),
  );
  other.dispose();
});

test('the output-folder lock: live holders refuse, dead ones are taken over', () => {
  const dir = tmp();
  const file = path.join(dir, LOCK_FILE);
  const log = silentLog();
  const lock = acquireLock(dir, log);
  const info = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(info.pid, process.pid);
  assert.equal(info.hostname, os.hostname());
  assert.ok(!Number.isNaN(Date.parse(info.startedAt)));
  assert.throws(() => acquireLock(dir, log), isErr('folder-locked', LOCK_FILE));
  lock.release();
  assert.ok(!fs.existsSync(file));

  // Held by another live process on this host (our parent).
  fs.writeFileSync(
    file,
    JSON.stringify({ pid: process.ppid, hostname: os.hostname(), startedAt: 'x' }),
  );
  assert.throws(
    () => acquireLock(dir, log),
    (e: unknown) =>
      isErr('folder-locked', LOCK_FILE)(e) && (e as Error).message.includes(`pid ${process.ppid}`),
  );
  // Held by a process that has exited: taken over, with a message.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const deadPid = Number(dead.stdout.toString());
  fs.writeFileSync(
    file,
    JSON.stringify({ pid: deadPid, hostname: os.hostname(), startedAt: 'then' }),
  );
  const taken = acquireLock(dir, log);
  assert.ok(log.lines.some((l) => l.includes(`stale lock`) && l.includes(String(deadPid))));
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
  taken.release();
  // An empty lock file (killed while creating it) is taken over too.
  fs.writeFileSync(file, '');
  acquireLock(dir, log).release();
  // Another host: cannot tell whether it is alive, so refuse and say how to clear it.
  fs.writeFileSync(file, JSON.stringify({ pid: 1, hostname: 'elsewhere.example', startedAt: 'x' }));
  assert.throws(() => acquireLock(dir, log), /host elsewhere\.example.*delete/);
});

test('train refuses an output folder another live run holds', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  fs.writeFileSync(
    path.join(dir, LOCK_FILE),
    JSON.stringify({ pid: process.ppid, hostname: os.hostname(), startedAt: 'x' }),
  );
  await assert.rejects(runOnce(dir), isErr('folder-locked', LOCK_FILE));
  assert.ok(!fs.existsSync(path.join(dir, 'checkpoint')), 'no work was done');
});

test('fine-tuning refuses to start from a pretraining that did not finish', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  const controller = new AbortController();
  const pre = await trainScenario(path.join(dir, 'pretrain'), undefined, 3, controller);
  assert.equal(pre.result.status, 'interrupted');
  pre.model.dispose();
  await assert.rejects(
    sweepScenario(path.join(dir, 'sweep'), path.join(dir, 'pretrain')),
    (e: unknown) =>
      e instanceof ArtstyleError &&
      e.code === 'unfinished-run' &&
      /stopped after 1 of 3 epochs/.test(e.message),
  );
  assert.ok(!fs.existsSync(path.join(dir, 'sweep', 'block0')), 'no model was started');
});

test('a disk-full write during a checkpoint names the file and keeps the previous checkpoint', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  await runOnce(dir, 0.01, 1);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeFs = require('node:fs') as typeof fs;
  const original = nodeFs.writeFileSync;
  nodeFs.writeFileSync = ((file: fs.PathOrFileDescriptor, data: unknown, ...rest: unknown[]) => {
    // Only the weights file is big: fail it as a full disk would.
    if (typeof file === 'number' && (data as Uint8Array).length > 2000) {
      const e = new Error('ENOSPC: no space left on device') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
    return (original as (...a: unknown[]) => void)(file, data, ...rest);
  }) as typeof fs.writeFileSync;
  try {
    await assert.rejects(runOnce(dir, 0.01, 2), (e: unknown) => {
      assert.ok(e instanceof ArtstyleError);
      assert.equal(e.code, 'write-failed');
      assert.match(e.subject!, /weights-epoch0002\.bin$/);
      assert.match(e.message, /the disk is full/);
      return true;
    });
  } finally {
    nodeFs.writeFileSync = original;
  }
  const ckDir = path.join(dir, 'checkpoint');
  assert.deepEqual(
    fs.readdirSync(ckDir).sort(),
    ['checkpoint.json', 'weights-epoch0001.bin'],
    'no half-written or stray file is left',
  );
  const r = await runOnce(dir, 0.01, 2);
  assert.equal(r.resumedFrom, 1);
  assert.equal(r.history.length, 2);
});

test('weights of the wrong shape are refused, naming the weight and both shapes', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  await runOnce(dir);
  // Same layers, but four classes: the last kernel is [8, 4] where the checkpoint has [8, 3].
  const model = buildTinyModel({ imageSize: SIZE, numClasses: 4, seed: 1, dropout: false });
  assert.throws(
    () => loadCheckpointWeights(model, path.join(dir, 'checkpoint')),
    (e: unknown) =>
      e instanceof ArtstyleError &&
      e.code === 'checkpoint-mismatch' &&
      /weight \d+ \(.*\) has shape \[8,3\] but the model's .* has shape \[8,4\]/.test(e.message),
  );
  model.dispose();
});
