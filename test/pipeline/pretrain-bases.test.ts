import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { OBJECT_CLASSES } from '../../lib/data/synth/object-task';
import type { BundledBaseInfo } from '../../lib/pipeline/bases';
import { tempDir } from '../tmp';

/**
 * scripts/pretrain-bases.ts (npm run bases) on a tiny task: the same options give the same bytes
 * (weights, topology, info.json) in separate processes, also when the run is stopped with Ctrl-C
 * and resumed; another seed gives other weights; `--out` keeps data/bases/ untouched. That the
 * trainer's step is tfjs's trainOnBatch update bit for bit is test/train/multi-output.test.ts.
 */

const script = path.join(__dirname, '..', '..', 'scripts', 'pretrain-bases.js');

interface Run {
  code: number | null;
  log: string;
}

/** Runs the script; with `interruptAt`, sends SIGINT once that text appears in its output. */
function bases(out: string, seed: number, interruptAt?: string): Promise<Run> {
  const args = ['--only', 'xception', '--count', '40', '--epochs', '2', '--batch', '4'];
  const child = spawn(process.execPath, [script, ...args, '--seed', `${seed}`, '--out', out], {
    env: { ...process.env, ARTSTYLE_PROGRESS: 'lines', ARTSTYLE_BACKEND: 'wasm' },
  });
  let log = '';
  let sent = false;
  const onData = (d: Buffer): void => {
    log += d.toString();
    if (interruptAt && !sent && log.includes(interruptAt)) {
      sent = true;
      child.kill('SIGINT');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, log })));
}

function files(out: string): Record<string, Buffer> {
  const dir = path.join(out, 'xception-w0.25');
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .map((f) => [f.replace(/-[0-9a-f]{16}\.bin$/, '.bin'), fs.readFileSync(path.join(dir, f))]),
  );
}

test('a tiny bases run is deterministic across processes, resumes exactly after Ctrl-C, and follows its seed', async () => {
  const committed = path.join(__dirname, '..', '..', '..', 'data', 'bases', 'xception-w0.25');
  const stamp = () =>
    fs.readdirSync(committed).map((f) => fs.statSync(path.join(committed, f)).mtimeMs);
  const before = stamp();
  const [a, b, c] = [1, 2, 3].map(() => tempDir('artstyle-bases-')) as [string, string, string];
  const [runA, stopped, runC] = await Promise.all([
    bases(a, 7),
    bases(b, 7, 'xception epoch 2/2 1/8'),
    bases(c, 8),
  ]);
  assert.equal(runA.code, 0, runA.log);
  // Progress through the trainer: a bar per epoch with the running mean loss.
  assert.match(runA.log, /xception epoch 2\/2 8\/8 \(100%\).*loss \d+\.\d{3}/);
  assert.notEqual(stopped.code, 0, 'stopped by Ctrl-C');
  assert.match(stopped.log, /stopped by Ctrl-C during epoch 2/);
  assert.ok(!fs.existsSync(path.join(b, 'xception-w0.25')), 'nothing saved when stopped');
  const resumed = await bases(b, 7);
  assert.equal(resumed.code, 0, resumed.log);
  assert.match(resumed.log, /resuming after epoch 1/);
  assert.equal(runC.code, 0, runC.log);
  const fa = files(a);
  const fb = files(b);
  assert.deepEqual(Object.keys(fa).sort(), ['info.json', 'model.json', 'weights.bin']);
  for (const f of Object.keys(fa)) assert.ok(fa[f]!.equals(fb[f]!), `${f} identical`);
  assert.ok(!fa['weights.bin']!.equals(files(c)['weights.bin']!), 'another seed, other weights');
  assert.deepEqual(fs.readdirSync(b), ['xception-w0.25'], 'the run folder is removed once saved');
  const info = JSON.parse(fa['info.json']!.toString('utf8')) as BundledBaseInfo;
  assert.equal(info.epochs, 2);
  assert.equal(info.seed, 7);
  assert.equal(info.backend, 'wasm');
  assert.deepEqual(info.sourceTask.heads['material'], [...OBJECT_CLASSES.material]);
  assert.equal(info.sourceTask.count, 40);
  assert.deepEqual(stamp(), before, '--out leaves data/bases untouched');
});
