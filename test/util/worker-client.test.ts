import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryErrorKind } from '../../lib/util/out-of-memory';
import { WorkerClient } from '../../lib/util/worker-client';
import { tempDir } from '../tmp';

/** A worker that answers in order, or throws the error a message names. */
function workerScript(): string {
  const file = path.join(tempDir('artstyle-worker-'), 'worker.js');
  const lib = JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'util', 'worker-client.js'));
  fs.writeFileSync(
    file,
    `const { serveInOrder } = require(${lib});
serveInOrder('test worker', async (m) => {
  if (m.throw === 'RangeError') throw new RangeError('Array buffer allocation failed');
  if (m.throw === 'RuntimeError') throw new WebAssembly.RuntimeError('memory access out of bounds');
  await new Promise((r) => setTimeout(r, m.wait ?? 0));
  return { reply: { kind: 'echo', n: m.n } };
});
`,
  );
  return file;
}

type Message = { n?: number; wait?: number; throw?: string };

test('replies come back in order; a thrown error keeps its class and name, so out-of-memory is recognised', async () => {
  const client = new WorkerClient<Message, { kind: 'echo'; n: number }>(
    workerScript(),
    'test worker',
  );
  try {
    const replies = await Promise.all([
      client.ask({ n: 1, wait: 30 }),
      client.ask({ n: 2 }),
      client.ask({ n: 3, wait: 10 }),
    ]);
    assert.deepEqual(
      replies.map((r) => r.n),
      [1, 2, 3],
    );
    const range = await client.ask({ throw: 'RangeError' }).catch((e: unknown) => e);
    assert.ok(range instanceof RangeError);
    assert.match((range as Error).message, /^test worker: Array buffer allocation failed/);
    assert.equal(memoryErrorKind(range), 'process');
    const wasm = await client.ask({ throw: 'RuntimeError' }).catch((e: unknown) => e);
    assert.equal((wasm as Error).name, 'RuntimeError');
    assert.equal(memoryErrorKind(wasm), 'wasm-heap');
    // The worker goes on answering after an error.
    assert.equal((await client.ask({ n: 4 })).n, 4);
  } finally {
    await client.close();
  }
  await assert.rejects(client.ask({ n: 5 }), /test worker exited/);
});
