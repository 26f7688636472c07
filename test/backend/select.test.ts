import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import {
  BackendCandidate,
  BackendChoice,
  ProbeOutcome,
  selectBackend,
} from '../../lib/backend/select';
import { ArtstyleError } from '../../lib/util/errors';

function fake(name: BackendChoice, outcome: ProbeOutcome, calls: string[] = []): BackendCandidate {
  return {
    name,
    async probe(forced) {
      calls.push(`${name}:${forced}`);
      return outcome;
    },
  };
}

const ok = (tfName: string): ProbeOutcome => ({ ok: true, tfName, detail: `${tfName} ok` });

describe('selectBackend policy', () => {
  it('takes the first candidate that works and records why faster ones were skipped', async () => {
    const calls: string[] = [];
    const sel = await selectBackend({
      force: undefined,
      log: null,
      candidates: [
        fake('node-gpu', { ok: false, reason: 'not-installed', detail: 'no tfjs-node-gpu' }, calls),
        fake('webgpu', { ok: false, reason: 'software-device', detail: 'llvmpipe' }, calls),
        fake(
          'node',
          { ok: false, reason: 'failed', detail: 'libtensorflow.so: cannot open' },
          calls,
        ),
        fake('wasm', ok('wasm'), calls),
        fake('cpu', ok('cpu'), calls),
      ],
    });
    assert.equal(sel.name, 'wasm');
    assert.equal(sel.forced, false);
    assert.deepEqual(calls, ['node-gpu:false', 'webgpu:false', 'node:false', 'wasm:false']);
    assert.deepEqual(
      sel.skipped.map((s) => `${s.name}/${s.reason}`),
      ['node-gpu/not-installed', 'webgpu/software-device', 'node/failed'],
    );
    assert.match(sel.summary, /skipped node: failed: libtensorflow\.so: cannot open/);
  });

  it('prefers a GPU when one works', async () => {
    const sel = await selectBackend({
      force: undefined,
      log: null,
      candidates: [fake('node-gpu', ok('tensorflow')), fake('cpu', ok('cpu'))],
    });
    assert.equal(sel.name, 'node-gpu');
    assert.equal(sel.skipped.length, 0);
  });

  it('a forced backend is probed alone, with forced=true', async () => {
    const calls: string[] = [];
    const sel = await selectBackend({
      force: 'cpu',
      log: null,
      candidates: [fake('wasm', ok('wasm'), calls), fake('cpu', ok('cpu'), calls)],
    });
    assert.equal(sel.name, 'cpu');
    assert.equal(sel.forced, true);
    assert.deepEqual(calls, ['cpu:true']);
  });

  it('a forced backend that cannot load is an error naming it, not a fallback', async () => {
    await assert.rejects(
      selectBackend({
        force: 'node-gpu',
        log: null,
        candidates: [
          fake('node-gpu', {
            ok: false,
            reason: 'not-installed',
            detail: '@tensorflow/tfjs-node-gpu is not installed',
          }),
          fake('cpu', ok('cpu')),
        ],
      }),
      (e: unknown) =>
        e instanceof ArtstyleError &&
        /ARTSTYLE_BACKEND=node-gpu was forced but cannot load: not-installed/.test(e.message),
    );
  });

  it('an unknown forced name lists the allowed ones', async () => {
    await assert.rejects(
      selectBackend({ force: 'tpu', log: null, candidates: [fake('cpu', ok('cpu'))] }),
      /ARTSTYLE_BACKEND=tpu is not a backend; choose one of node-gpu, webgpu, node, wasm, cpu/,
    );
  });

  it('no working backend at all is an error listing every reason', async () => {
    await assert.rejects(
      selectBackend({
        force: undefined,
        log: null,
        candidates: [fake('cpu', { ok: false, reason: 'failed', detail: 'broken' })],
      }),
      /cpu: broken/,
    );
  });
});

/** True when `@tensorflow/tfjs-node` is the real package, not danfojs-node's alias of tfjs. */
function realTfjsNodeInstalled(): boolean {
  try {
    const pkg = require.resolve('@tensorflow/tfjs-node/package.json');
    return (
      (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name ===
      '@tensorflow/tfjs-node'
    );
  } catch {
    return false;
  }
}

describe('selectBackend on this machine', () => {
  it('forcing cpu really activates the cpu backend', async () => {
    const tf = await import('@tensorflow/tfjs');
    const sel = await selectBackend({ force: 'cpu', log: null });
    assert.equal(sel.tfName, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('forcing tfjs-node works where a user installed it, and fails with the reason where only the danfojs alias is present', async () => {
    if (realTfjsNodeInstalled()) {
      // A machine where the user ran `npm install @tensorflow/tfjs-node`: the native binding loads.
      const sel = await selectBackend({ force: 'node', log: null });
      assert.equal(sel.tfName, 'tensorflow');
      return;
    }
    await assert.rejects(
      selectBackend({ force: 'node', log: null }),
      /ARTSTYLE_BACKEND=node was forced but cannot load/,
    );
  });
});
