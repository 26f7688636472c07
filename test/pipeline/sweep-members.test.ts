import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { selectBackend } from '../../lib/backend/select';
import { ensureData } from '../../lib/pipeline/data';
import { resolveParams } from '../../lib/pipeline/params';
import * as study1 from '../../lib/pipeline/study1';
import {
  chooseMemberThreads,
  memberThreads,
  SWEEP_MEMBERS_ENV,
} from '../../lib/pipeline/sweep-members';
import { estimateStepHeap } from '../../lib/train/microbatch';
import { ArtstyleError } from '../../lib/util/errors';
import { sweepFiles } from '../train/sweep-files';
import { tempDir } from '../tmp';

/** A smoke run with its data prepared and its pretraining done, in a new temporary folder. */
async function pretrainedSmoke() {
  await selectBackend({ force: 'wasm', log: null });
  const params = resolveParams({ profile: 'smoke', outDir: tempDir('artstyle-members-') }, {});
  await ensureData(params);
  const config = study1.studyConfig(params);
  await study1.prepareSculptures(params, config);
  const sources = study1.sculptureSources(params, config);
  study1.assertCompleted(
    await study1.pretrainStep(params, config, sources, { log: null }),
    'pretraining',
  );
  return { params, config, sources };
}

/** A copy of `from`'s prepare and pretrain steps in a new temporary folder. */
function copyPretrained(from: string): string {
  const to = tempDir('artstyle-members-');
  for (const step of ['prepare', 'pretrain'])
    fs.cpSync(path.join(from, step), path.join(to, step), { recursive: true });
  return to;
}

test('the smoke sweep on two member threads writes the same files as in one process, and reports each epoch', async () => {
  const { params, config, sources } = await pretrainedSmoke();
  const one = params.outDir;
  const inOrder = await study1.sweepStep(params, config, sources, { log: null, members: null });
  assert.equal(inOrder.status, 'completed');

  const two = copyPretrained(one);
  const threaded = { ...params, outDir: two };
  const lines: string[] = [];
  const epochs: Array<[number, number]> = [];
  const choice = { members: 2, reason: 'test' };
  const batches = new Set<number>();
  const members = memberThreads(threaded, config, choice, (l) => lines.push(l), {
    onEpochEnd: (blocks, record) => void epochs.push([blocks, record.epoch]),
    onBatchEnd: (blocks) => void batches.add(blocks),
  });
  const r = await study1.sweepStep(threaded, config, sources, { log: null, members });
  assert.equal(r.status, 'completed');
  assert.equal(r.selection?.best.blocks, inOrder.selection?.best.blocks);
  const a = sweepFiles(path.join(one, 'sweep'));
  const b = sweepFiles(path.join(two, 'sweep'));
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a)) assert.equal(b[k], a[k], `${k} differs`);
  assert.ok(Object.keys(a).some((k) => k.endsWith('.bin')));
  const want = config.sweep.blocks.flatMap((n) =>
    Array.from({ length: config.finetune.epochs }, (_, e) => [n, e + 1] as [number, number]),
  );
  assert.deepEqual([...epochs].sort(), want.sort());
  for (const n of config.sweep.blocks)
    assert.ok(
      lines.some((l) => l.startsWith(`block${n} epoch 1/`)),
      `a line per epoch for block${n}`,
    );
  assert.deepEqual([...batches].sort(), [...config.sweep.blocks].sort(), 'batches reported');
});

test('a member thread that fails stops the sweep with its named error', async () => {
  const { params, config, sources } = await pretrainedSmoke();
  const out = params.outDir;
  // Another member already holds block0's folder lock: its thread fails with the lock's error.
  fs.mkdirSync(path.join(out, 'sweep', 'block0'), { recursive: true });
  fs.writeFileSync(
    path.join(out, 'sweep', 'block0', 'run.lock'),
    JSON.stringify({ pid: 1, hostname: 'elsewhere', startedAt: new Date().toISOString() }),
  );
  const members = memberThreads(params, config, { members: 2, reason: 'test' }, null);
  await assert.rejects(
    study1.sweepStep(params, config, sources, { log: null, members }),
    (e: unknown) =>
      e instanceof ArtstyleError && e.code === 'folder-locked' && /block0/.test(e.message),
  );
});

test('how many members at a time: the setting, else wasm only, one per core and member, within memory', () => {
  const model = study1.buildStudyModel(
    study1.studyConfig(resolveParams({ profile: 'smoke' }, {})),
    12,
    1,
  );
  try {
    const heap = () => estimateStepHeap(model);
    const base = { members: 15, heap, microBatch: 8, requested: '', threadsSetting: '' };
    const gib = 2 ** 30;
    assert.deepEqual(
      chooseMemberThreads({ ...base, backend: 'wasm', cores: 2, freeBytes: 20 * gib }).members,
      2,
    );
    assert.equal(
      chooseMemberThreads({ ...base, backend: 'wasm', cores: 64, freeBytes: 20 * gib }).members,
      15,
    );
    assert.equal(
      chooseMemberThreads({ ...base, backend: 'tensorflow', cores: 8, freeBytes: 20 * gib })
        .members,
      1,
    );
    const tight = chooseMemberThreads({ ...base, backend: 'wasm', cores: 8, freeBytes: 1 });
    assert.equal(tight.members, 1);
    assert.match(tight.reason, /free memory/);
    assert.equal(chooseMemberThreads({ ...base, requested: '3' }).members, 3);
    const stepThreads = chooseMemberThreads({ ...base, backend: 'wasm', threadsSetting: '2' });
    assert.equal(stepThreads.members, 1);
    assert.match(stepThreads.reason, /ARTSTYLE_THREADS/);
    assert.throws(
      () => chooseMemberThreads({ ...base, requested: 'two' }),
      new RegExp(`${SWEEP_MEMBERS_ENV}: expected an integer >= 1, got "two"`),
    );
  } finally {
    model.dispose();
  }
});

test('a sweep on member threads killed (SIGKILL) resumes to the same files as an uninterrupted one', async () => {
  const { params, config, sources } = await pretrainedSmoke();
  const one = params.outDir;
  const killed = copyPretrained(one);
  const reference = await study1.sweepStep(params, config, sources, { log: null, members: null });
  assert.equal(reference.status, 'completed');

  const child = spawn(process.execPath, [path.join(__dirname, 'member-threads-child.js'), killed], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string | null>((resolve) =>
    child.on('exit', (_c, sig) => resolve(sig)),
  );
  // Kill once both members are training (their folders' locks are taken), a moment later.
  const locks = config.sweep.blocks.map((n) => path.join(killed, 'sweep', `block${n}`, 'run.lock'));
  const t0 = Date.now();
  while (!locks.every((f) => fs.existsSync(f))) {
    assert.ok(Date.now() - t0 < 120_000, `the members did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
  const summary = path.join(killed, 'sweep', 'sweep-summary.json');
  assert.ok(!fs.existsSync(summary), 'killed before the sweep finished');
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const threaded = { ...params, outDir: killed };
  const members = memberThreads(threaded, config, { members: 2, reason: 'test' }, null);
  const resumed = await study1.sweepStep(threaded, config, sources, { log: null, members });
  assert.equal(resumed.status, 'completed');
  const a = sweepFiles(path.join(one, 'sweep'));
  const b = sweepFiles(path.join(killed, 'sweep'));
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a)) assert.equal(b[k], a[k], `${k} differs after the resume`);
});

test('a sweep callback that throws on a member thread stops the sweep with its error', async () => {
  const { params, config, sources } = await pretrainedSmoke();
  const members = memberThreads(params, config, { members: 2, reason: 'test' }, null, {
    onEpochEnd: () => {
      throw new Error('the callback failed');
    },
  });
  await assert.rejects(
    study1.sweepStep(params, config, sources, { log: null, members }),
    /the callback failed/,
  );
});
