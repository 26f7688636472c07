import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { trainScenario, sweepScenario } from './scenarios';
import { tempDir } from '../tmp';

const CHILD = path.join(__dirname, 'child-train.js');

function tmp(): string {
  return tempDir('artstyle-kill-');
}

/** Runs the child; when `killOnHang`, SIGKILLs it as soon as it reports it is mid-epoch. */
function runChild(
  args: string[],
  killOnHang: boolean,
): Promise<{ out: string; signal: string | null; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ARTSTYLE_PROGRESS: 'silent' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killOnHang && out.includes('HANG')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!killOnHang && code !== 0) reject(new Error(`child failed (${code}): ${err}`));
      else resolve({ out, signal, code });
    });
  });
}

function checkpointBytes(dir: string): { history: unknown[]; data: Buffer } {
  const ck = readCheckpoint(path.join(dir, 'checkpoint'));
  assert.ok(ck, `no checkpoint in ${dir}`);
  return {
    history: ck.manifest.history.map(({ seconds: _s, ...rest }) => rest),
    data: ck.data,
  };
}

test('a training run killed with SIGKILL mid-epoch resumes to the same weights and history', async () => {
  await tf.setBackend('cpu');
  const ref = tmp();
  const refRun = await trainScenario(ref);
  refRun.model.dispose();
  const dir = tmp();
  const killed = await runChild(['train', dir, '1', '2'], true);
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(!killed.out.includes('DONE'));
  // The kill left the stale lock of a dead pid and a checkpoint after epoch 1.
  assert.ok(fs.existsSync(path.join(dir, 'run.lock')));
  assert.equal(readCheckpoint(path.join(dir, 'checkpoint'))!.manifest.epoch, 1);
  const resumed = await runChild(['train', dir], false);
  assert.ok(resumed.out.includes('DONE'));
  const a = checkpointBytes(ref);
  const b = checkpointBytes(dir);
  assert.deepEqual(b.history, a.history);
  assert.ok(a.data.equals(b.data), 'model and optimizer state identical byte for byte');
});

test('Ctrl-C (a real SIGINT) stops at a batch boundary, says how to resume, and resuming matches', async () => {
  await tf.setBackend('cpu');
  const ref = tmp();
  const refRun = await trainScenario(ref);
  refRun.model.dispose();
  const dir = tmp();
  const stopped = await runChild(['train', dir, '1', '0', 'sigint'], false);
  assert.equal(stopped.code, 0, 'a clean exit, not a crash');
  assert.match(
    stopped.out,
    /stopped by Ctrl-C during epoch 2 .*run the same command \(or notebook cell\) again to resume from epoch 2/,
  );
  assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'the lock was released');
  await runChild(['train', dir], false);
  const a = checkpointBytes(ref);
  const b = checkpointBytes(dir);
  assert.deepEqual(b.history, a.history);
  assert.ok(a.data.equals(b.data));
});

test('a sweep killed with SIGKILL inside its second model resumes to the same models', async () => {
  await tf.setBackend('cpu');
  // Pretraining shared by both sweeps (one epoch of the training scenario).
  const base = tmp();
  const pre = await trainScenario(path.join(base, 'pretrain'));
  pre.model.dispose();
  const other = tmp();
  fs.cpSync(path.join(base, 'pretrain'), path.join(other, 'pretrain'), { recursive: true });
  const refSweep = await sweepScenario(path.join(base, 'sweep'), path.join(base, 'pretrain'));
  assert.equal(refSweep.status, 'completed');
  // Kill during model block2 (second of three), epoch 2, batch 1.
  const killed = await runChild(['sweep', other, '1', '1', '2'], true);
  assert.equal(killed.signal, 'SIGKILL');
  const block0Before = fs.readFileSync(
    path.join(other, 'sweep', 'block0', 'checkpoint', 'checkpoint.json'),
  );
  const resumed = await runChild(['sweep', other], false);
  assert.ok(resumed.out.includes('DONE'));
  // The finished model was not retrained (its checkpoint is untouched).
  assert.ok(
    fs
      .readFileSync(path.join(other, 'sweep', 'block0', 'checkpoint', 'checkpoint.json'))
      .equals(block0Before),
  );
  for (const n of [0, 2, 4]) {
    const a = checkpointBytes(path.join(base, 'sweep', `block${n}`));
    const b = checkpointBytes(path.join(other, 'sweep', `block${n}`));
    assert.deepEqual(b.history, a.history, `block${n} history`);
    assert.ok(a.data.equals(b.data), `block${n} weights`);
  }
  const s1 = JSON.parse(fs.readFileSync(path.join(base, 'sweep', 'sweep-summary.json'), 'utf8'));
  const s2 = JSON.parse(fs.readFileSync(path.join(other, 'sweep', 'sweep-summary.json'), 'utf8'));
  assert.deepEqual(s2.ranking, s1.ranking);
  assert.equal(s2.text, s1.text);
});
