import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { selectBackend } from '../../lib/backend/select';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { trainScenario } from './scenarios';
import { tempDir } from '../tmp';

// The notebooks train on wasm (with the project's gradient kernels): resume must be exact there
// too, not only on the cpu backend the other tests use.
test('on the wasm backend, an interrupted and resumed run equals an uninterrupted one', async () => {
  await selectBackend({ force: 'wasm', log: null });
  const tmp = () => tempDir('artstyle-wasm-');
  const ref = tmp();
  (await trainScenario(ref)).model.dispose();
  const dir = tmp();
  const controller = new AbortController();
  const first = await trainScenario(dir, undefined, 3, controller);
  assert.equal(first.result.status, 'interrupted');
  first.model.dispose();
  const second = await trainScenario(dir);
  assert.equal(second.result.resumedFrom, 1);
  second.model.dispose();
  const a = readCheckpoint(path.join(ref, 'checkpoint'))!;
  const b = readCheckpoint(path.join(dir, 'checkpoint'))!;
  assert.ok(a.data.equals(b.data), 'weights and optimizer state identical');
  assert.deepEqual(
    b.manifest.history.map(({ seconds: _s, ...r }) => r),
    a.manifest.history.map(({ seconds: _s, ...r }) => r),
  );
});
