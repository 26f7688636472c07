import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  mergeSweep,
  runSweep,
  sweepMember,
  type MemberExecutor,
  type SweepOptions,
} from '../../lib/train/sweep';
import { acquireLock } from '../../lib/train/lock';
import { ArtstyleError } from '../../lib/util/errors';
import { trainScenario, sweepScenario, sweepSpec } from './scenarios';
import { sweepFiles } from './sweep-files';
import { tempDir } from '../tmp';

/**
 * The sweep's units: each member trained on its own (any order, separate calls) and then merged
 * gives exactly the files of the sweep run in one call; the merge and the members refuse, with a
 * named error, what they cannot do yet.
 */

function tmp(): string {
  return tempDir('artstyle-units-');
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof ArtstyleError, String(e));
    return e.code;
  }
  return 'no error';
}

async function pretrained(): Promise<string> {
  const base = tmp();
  const { model } = await trainScenario(path.join(base, 'pretrain'));
  model.dispose();
  return path.join(base, 'pretrain');
}

test('members trained one by one (in another order) and merged equal the sweep in one call, file for file', async () => {
  await tf.setBackend('cpu');
  const pre = await pretrained();
  const whole = path.join(tmp(), 'sweep');
  const ref = await sweepScenario(whole, pre);
  assert.equal(ref.status, 'completed');
  const units = path.join(tmp(), 'sweep');
  const spec = sweepSpec(units, pre);
  for (const n of [4, 0, 2]) {
    const r = await sweepMember(spec, n);
    assert.equal(r.status, 'completed');
    assert.equal(r.model?.blocks, n);
  }
  assert.ok(!fs.existsSync(path.join(units, 'sweep-summary.json')), 'members do not merge');
  const merged = mergeSweep({ ...spec });
  assert.equal(merged.selection?.best.blocks, ref.selection?.best.blocks);
  assert.deepEqual(merged.selection?.mcnemar, ref.selection?.mcnemar);
  const a = sweepFiles(whole);
  const b = sweepFiles(units);
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a)) assert.equal(b[k], a[k], `${k} differs`);
  assert.ok(
    Object.keys(a).some((k) => k.endsWith('.bin')),
    'weights were compared',
  );
});

test('the merge refuses a missing or unfinished member; a member refuses missing or unfinished pretraining', async () => {
  await tf.setBackend('cpu');
  const nowhere = path.join(tmp(), 'no-pretrain');
  const early: SweepOptions = sweepSpec(path.join(tmp(), 'sweep'), nowhere);
  assert.equal(await code(sweepMember(early, 0)), 'missing-checkpoint');
  // A pretraining run stopped after its first epoch is not a starting point.
  const half = path.join(tmp(), 'pretrain');
  const stop = new AbortController();
  const { model } = await trainScenario(half, undefined, 3, stop);
  model.dispose();
  assert.equal(
    await code(sweepMember(sweepSpec(path.join(tmp(), 's'), half), 0)),
    'unfinished-run',
  );

  const pre = await pretrained();
  const dir = path.join(tmp(), 'sweep');
  const spec = sweepSpec(dir, pre);
  assert.equal(await code(() => mergeSweep(spec)), 'sweep-member-missing');
  assert.equal(await code(sweepMember(spec, 3)), 'invalid-argument');
  await sweepMember(spec, 0);
  await sweepMember(spec, 2);
  // Member 4 stopped in its first epoch: its checkpoint exists but is not finished.
  const abort = new AbortController();
  const r = await sweepMember(
    {
      ...spec,
      signal: abort.signal,
      callbacks: { onBatchEnd: () => abort.abort() },
    },
    4,
  );
  assert.equal(r.status, 'interrupted');
  assert.match(await code(() => mergeSweep(spec)), /^sweep-member-unfinished$/);
  assert.throws(() => mergeSweep(spec), /block4 stopped after 0 of 2 epochs.*--member 4/);
  await sweepMember(spec, 4);
  assert.equal(mergeSweep(spec).status, 'completed');
});

test("a member takes its own folder's lock: the same member twice is refused, another member is not", async () => {
  await tf.setBackend('cpu');
  const pre = await pretrained();
  const dir = path.join(tmp(), 'sweep');
  const spec = sweepSpec(dir, pre);
  const held = acquireLock(path.join(dir, 'block2'), null);
  try {
    assert.equal(await code(sweepMember(spec, 2)), 'folder-locked');
    assert.equal((await sweepMember(spec, 0)).status, 'completed');
  } finally {
    held.release();
  }
});

/** An executor that trains members with sweepMember in this process, `concurrency` at a time. */
function inProcess(
  spec: SweepOptions,
  concurrency: number,
  hooks: { started: number[]; failAt?: number; stopAt?: number; closed?: boolean } = {
    started: [],
  },
): MemberExecutor & { hooks: typeof hooks } {
  return {
    concurrency,
    reason: 'test',
    hooks,
    async run(blocks, signal) {
      hooks.started.push(blocks);
      if (blocks === hooks.failAt) throw new ArtstyleError('test-failure', `member ${blocks}`);
      const controller = new AbortController();
      signal.addEventListener('abort', () => controller.abort());
      if (blocks === hooks.stopAt) controller.abort();
      return sweepMember({ ...spec, signal: controller.signal, handleSigint: false }, blocks);
    },
    async close() {
      hooks.closed = true;
    },
  };
}

test('members on an executor, two at a time, equal the sweep in one call, file for file; the executor is closed', async () => {
  await tf.setBackend('cpu');
  const pre = await pretrained();
  const whole = path.join(tmp(), 'sweep');
  assert.equal((await sweepScenario(whole, pre)).status, 'completed');
  const dir = path.join(tmp(), 'sweep');
  const spec = sweepSpec(dir, pre);
  const ended: number[] = [];
  const members = inProcess(spec, 2);
  const r = await runSweep({
    ...spec,
    members,
    handleSigint: false,
    callbacks: { onModelEnd: (m) => void ended.push(m.blocks) },
  });
  assert.equal(r.status, 'completed');
  assert.deepEqual(members.hooks.started, [0, 2, 4], 'started in the sweep order');
  assert.deepEqual([...ended].sort(), [0, 2, 4]);
  assert.equal(members.hooks.closed, true);
  const a = sweepFiles(whole);
  const b = sweepFiles(dir);
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a)) assert.equal(b[k], a[k], `${k} differs`);
});

test('on an executor: a failing member stops the sweep with its error; a stopped one leaves it resumable', async () => {
  await tf.setBackend('cpu');
  const pre = await pretrained();
  const dir = path.join(tmp(), 'sweep');
  const spec = sweepSpec(dir, pre);
  const failing = inProcess(spec, 2, { started: [], failAt: 2 });
  await assert.rejects(
    runSweep({ ...spec, members: failing, handleSigint: false }),
    (e: unknown) => e instanceof ArtstyleError && e.code === 'test-failure',
  );
  assert.equal(failing.hooks.closed, true);
  assert.ok(!failing.hooks.started.includes(4), 'no member starts after a failure');
  const stopping = inProcess(spec, 1, { started: [], stopAt: 0 });
  const stopped = await runSweep({ ...spec, members: stopping, handleSigint: false });
  assert.equal(stopped.status, 'interrupted');
  assert.match(stopped.message ?? '', /stopped during block0.*again to resume/);
  const resumed = await runSweep({ ...spec, members: inProcess(spec, 2), handleSigint: false });
  assert.equal(resumed.status, 'completed');
});
