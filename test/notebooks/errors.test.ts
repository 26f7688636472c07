import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { notebookErrors } from '../../lib/notebooks/run';
import { tempDir } from '../tmp';

function notebook(outputs: unknown[][]): string {
  const file = path.join(tempDir('nb-'), 'x.ipynb');
  const cells = outputs.map((o, i) => ({ cell_type: 'code', id: `c${i}`, source: [], outputs: o }));
  fs.writeFileSync(file, JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  return file;
}

describe('notebookErrors', () => {
  it('finds an exception that tslab only printed to stderr', () => {
    const file = notebook([
      [{ output_type: 'stream', name: 'stdout', text: 'fine\n' }],
      [
        {
          output_type: 'stream',
          name: 'stderr',
          text: [
            '/x/params.js:133\n',
            '        throw new ArtstyleError(...)\n',
            '\n',
            'ArtstyleError: manifest.json does not exist: run notebook 01-data-prep first\n',
            '    at requireStepOutput (/x/params.js:133:15)\n',
          ],
        },
      ],
    ]);
    assert.deepEqual(notebookErrors(file), [
      {
        cell: 'c1',
        error: 'ArtstyleError: manifest.json does not exist: run notebook 01-data-prep first',
      },
    ]);
  });

  it('finds TypeScript diagnostics of a cell that did not compile', () => {
    const file = notebook([
      [
        {
          output_type: 'stream',
          name: 'stderr',
          text: "1:60 - Property 'files' does not exist on type 'DuplicateGroup'.\n",
        },
      ],
    ]);
    assert.equal(
      notebookErrors(file)[0]?.error,
      "1:60 - Property 'files' does not exist on type 'DuplicateGroup'.",
    );
  });

  it('ignores warnings on stderr and reports error outputs of other kernels', () => {
    const file = notebook([
      [
        {
          output_type: 'stream',
          name: 'stderr',
          text: 'figure x: no static PNG (Chromium missing); it will not show on GitHub\n',
        },
      ],
      [{ output_type: 'error', ename: 'ValueError', evalue: 'bad value', traceback: [] }],
    ]);
    assert.deepEqual(notebookErrors(file), [{ cell: 'c1', error: 'ValueError: bad value' }]);
  });
});
