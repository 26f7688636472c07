import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { tempDir } from '../tmp';
import { tf, termMember, termMerge, termTrain } from './term-scenario';

/**
 * What a Slurm task sees before its time limit (--signal=B:TERM@s), on preemption and on scancel:
 * a SIGTERM. The run stops at a batch boundary like Ctrl-C, exits cleanly, and the requeued task
 * resumes to exactly the weights and history of a run that was never stopped.
 */
const CHILD = path.join(__dirname, 'term-child.js');

function runChild(
  args: string[],
): Promise<{ out: string; code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ARTSTYLE_PROGRESS: 'silent' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      const before = out;
      out += d.toString();
      if (!before.includes('TERM-ME') && out.includes('TERM-ME')) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) reject(new Error(`child failed (${code ?? signal}): ${err}\n${out}`));
      else resolve({ out, code, signal });
    });
  });
}

function state(dir: string): { history: unknown[]; data: Buffer; epoch: number } {
  const ck = readCheckpoint(path.join(dir, 'checkpoint'));
  assert.ok(ck, `no checkpoint in ${dir}`);
  return {
    history: ck.manifest.history.map(({ seconds: _s, ...rest }) => rest),
    data: ck.data,
    epoch: ck.manifest.epoch,
  };
}

function tmp(): string {
  return tempDir('artstyle-sigterm-');
}

test('SIGTERM stops a training run at a batch boundary; resuming matches an uninterrupted run', async () => {
  await tf.setBackend('cpu');
  const ref = tmp();
  assert.equal((await termTrain(ref)).status, 'completed');
  const dir = tmp();
  const stopped = await runChild(['train', dir, 'term']);
  assert.match(stopped.out, /SIGTERM: stopping at the end of this batch/);
  assert.match(stopped.out, /stopped by SIGTERM during epoch 2 \(after 2 of 4 batches\)/);
  assert.match(stopped.out, /STATUS interrupted/);
  assert.equal(state(dir).epoch, 1, 'epoch 1 is the last checkpointed one');
  assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'the lock was released');
  const resumed = await runChild(['train', dir]);
  assert.match(resumed.out, /resuming after epoch 1/);
  assert.match(resumed.out, /STATUS completed/);
  const a = state(ref);
  const b = state(dir);
  assert.deepEqual(b.history, a.history);
  assert.ok(a.data.equals(b.data), 'model and optimizer state identical byte for byte');
});

test("a sweep member TERM'd mid-epoch resumes bit-identically, and the merge matches", async () => {
  await tf.setBackend('cpu');
  const pre = tmp();
  assert.equal((await termTrain(path.join(pre, 'pretrain'))).status, 'completed');
  const from = path.join(pre, 'pretrain');
  const ref = tmp();
  for (const n of [0, 2]) assert.equal((await termMember(ref, from, n)).status, 'completed');
  termMerge(ref, from);
  const dir = tmp();
  // Member 2 first (the order of array tasks is not fixed), stopped by SIGTERM, then resumed.
  const stopped = await runChild(['member', dir, from, '2', 'term']);
  assert.match(stopped.out, /SIGTERM: stopping at the end of this batch/);
  assert.match(stopped.out, /STATUS interrupted/);
  assert.equal(state(path.join(dir, 'block2')).epoch, 1);
  assert.match((await runChild(['member', dir, from, '2'])).out, /STATUS completed/);
  assert.match((await runChild(['member', dir, from, '0'])).out, /STATUS completed/);
  termMerge(dir, from);
  for (const n of [0, 2]) {
    const a = state(path.join(ref, `block${n}`));
    const b = state(path.join(dir, `block${n}`));
    assert.deepEqual(b.history, a.history, `block${n} history`);
    assert.ok(a.data.equals(b.data), `block${n} weights identical byte for byte`);
  }
  const sa = JSON.parse(fs.readFileSync(path.join(ref, 'sweep-summary.json'), 'utf8'));
  const sb = JSON.parse(fs.readFileSync(path.join(dir, 'sweep-summary.json'), 'utf8'));
  assert.deepEqual(sb.ranking, sa.ranking);
  assert.equal(sb.text, sa.text);
});
