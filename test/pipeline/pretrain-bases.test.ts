import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { OBJECT_CLASSES } from '../../lib/data/synth/object-task';
import type { BundledBaseInfo } from '../../lib/pipeline/bases';
import { tempDir } from '../tmp';

/**
 * scripts/pretrain-bases.ts (npm run bases) on a tiny task: the same options give the same bytes
 * (weights, topology, info.json) in separate processes, another seed gives other weights, and
 * `--out` keeps data/bases/ untouched. That the trainer's step is tfjs's trainOnBatch update bit
 * for bit is test/train/multi-output.test.ts.
 */

const script = path.join(__dirname, '..', '..', 'scripts', 'pretrain-bases.js');
const run = promisify(execFile);

async function bases(out: string, seed: number): Promise<string> {
  const args = ['--only', 'xception', '--count', '20', '--epochs', '2', '--batch', '8'];
  const { stdout, stderr } = await run(
    process.execPath,
    [script, ...args, '--seed', `${seed}`, '--out', out],
    {
      env: { ...process.env, ARTSTYLE_PROGRESS: 'lines', ARTSTYLE_BACKEND: 'wasm' },
    },
  );
  return stdout + stderr;
}

function files(out: string): Record<string, Buffer> {
  const dir = path.join(out, 'xception-w0.25');
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .map((f) => [f.replace(/-[0-9a-f]{16}\.bin$/, '.bin'), fs.readFileSync(path.join(dir, f))]),
  );
}

test('a tiny bases run is deterministic across processes and follows its seed', async () => {
  const committed = path.join(__dirname, '..', '..', '..', 'data', 'bases', 'xception-w0.25');
  const before = fs.readdirSync(committed).map((f) => fs.statSync(path.join(committed, f)).mtimeMs);
  const [a, b, c] = [
    tempDir('artstyle-bases-'),
    tempDir('artstyle-bases-'),
    tempDir('artstyle-bases-'),
  ];
  const [logA] = await Promise.all([bases(a, 7), bases(b, 7), bases(c, 8)]);
  // Progress through the trainer: a bar per epoch with the running mean loss.
  assert.match(logA, /xception epoch 2\/2 2\/2 \(100%\).*loss \d+\.\d{3}/);
  const fa = files(a);
  const fb = files(b);
  assert.deepEqual(Object.keys(fa).sort(), ['info.json', 'model.json', 'weights.bin']);
  for (const f of Object.keys(fa)) assert.ok(fa[f]!.equals(fb[f]!), `${f} identical`);
  assert.ok(!fa['weights.bin']!.equals(files(c)['weights.bin']!), 'another seed, other weights');
  const info = JSON.parse(fa['info.json']!.toString('utf8')) as BundledBaseInfo;
  assert.equal(info.epochs, 2);
  assert.equal(info.seed, 7);
  assert.equal(info.backend, 'wasm');
  assert.deepEqual(info.sourceTask.heads['material'], [...OBJECT_CLASSES.material]);
  assert.equal(info.sourceTask.count, 20);
  const after = fs.readdirSync(committed).map((f) => fs.statSync(path.join(committed, f)).mtimeMs);
  assert.deepEqual(after, before, '--out leaves data/bases untouched');
});
