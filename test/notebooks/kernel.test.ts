import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { executeNotebook, executeNotebookResuming } from '../../lib/notebooks/run';
import { ArtstyleError } from '../../lib/util/errors';
import { tempDir } from '../tmp';

function writeNotebook(dir: string, sources: string[]): string {
  const file = path.join(dir, 'x.ipynb');
  const cells = sources.map((src, i) => ({
    cell_type: 'code',
    id: `c${i}`,
    metadata: {},
    execution_count: null,
    outputs: [],
    source: [src],
  }));
  const metadata = {
    kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' },
  };
  fs.writeFileSync(file, JSON.stringify({ cells, metadata, nbformat: 4, nbformat_minor: 5 }));
  return file;
}

describe('executeNotebook with the tslab kernel', { timeout: 120_000 }, () => {
  it('a kernel that dies is reported as such, with its output kept in a log file', async () => {
    const dir = tempDir('kernel-');
    const nb = writeNotebook(dir, [
      "console.error('last words before dying');",
      'process.exit(3);',
    ]);
    const out = path.join(dir, 'out');
    await assert.rejects(executeNotebook(nb, { outDir: out }), (e: unknown) => {
      assert.ok(e instanceof ArtstyleError);
      assert.equal(e.code, 'kernel-died');
      assert.match(e.message, /the kernel process died; full output in .*x\.log/);
      return true;
    });
    assert.ok(fs.existsSync(path.join(out, 'x.log')));
    assert.ok(
      !fs.existsSync(path.join(out, 'x.ipynb')),
      'no executed notebook is written for a run that died',
    );
  });

  it('executeNotebookResuming runs a notebook whose kernel died once more, keeping the first log', async () => {
    const dir = tempDir('kernel-');
    const marker = path.join(dir, 'first-run-done');
    const nb = writeNotebook(dir, [
      `const fs = require('fs');
if (!fs.existsSync(${JSON.stringify(marker)})) {
  fs.writeFileSync(${JSON.stringify(marker)}, '');
  process.exit(3);
}
console.log('second run');`,
    ]);
    const out = path.join(dir, 'out');
    const retries: string[] = [];
    const done = await executeNotebookResuming(nb, { outDir: out }, (e, kept) => {
      assert.equal(e.code, 'kernel-died');
      retries.push(kept);
    });
    assert.deepEqual(retries, [path.join(out, 'x.died.log')]);
    assert.match(fs.readFileSync(path.join(out, 'x.died.log'), 'utf8'), /Kernel died/);
    assert.doesNotMatch(fs.readFileSync(path.join(out, 'x.log'), 'utf8'), /Kernel died/);
    assert.match(fs.readFileSync(done.executed, 'utf8'), /second run/);
  });

  it('a cell that throws fails the notebook with the message tslab printed', async () => {
    const dir = tempDir('kernel-');
    const nb = writeNotebook(dir, ["throw new RangeError('bad input in cell 0');"]);
    await assert.rejects(
      executeNotebook(nb, { outDir: path.join(dir, 'out') }),
      /notebook x failed in cell c0: RangeError: bad input in cell 0/,
    );
    assert.ok(fs.existsSync(path.join(dir, 'out', 'x.failed.ipynb')));
  });
});
