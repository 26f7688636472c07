import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { requireStepOutput, resolveParams, stepDir } from '../../lib/pipeline/params';
import { tempDir } from '../tmp';

describe('resolveParams', () => {
  it('defaults to the teaching profile on the bundled data', () => {
    const p = resolveParams({}, {});
    assert.equal(p.profile, 'teaching');
    assert.equal(p.seed, 42);
    assert.match(p.sculpturesDir, /data[\\/]generated[\\/]teaching[\\/]sculptures$/);
    assert.match(p.paintingsDir, /data[\\/]generated[\\/]teaching[\\/]paintings$/);
    assert.match(p.outDir, /runs[\\/]teaching$/);
  });

  it('a profile brings its own bundled data size and output folder', () => {
    const p = resolveParams({ profile: 'smoke' }, {});
    assert.match(p.sculpturesDir, /data[\\/]generated[\\/]smoke[\\/]sculptures$/);
    assert.match(p.outDir, /runs[\\/]smoke$/);
  });

  it('takes the environment, and explicit values over it', () => {
    const env = { ARTSTYLE_PROFILE: 'smoke', ARTSTYLE_SEED: '7', ARTSTYLE_OUT: '/tmp/x' };
    assert.deepEqual(
      [resolveParams({}, env).profile, resolveParams({}, env).seed, resolveParams({}, env).outDir],
      ['smoke', 7, '/tmp/x'],
    );
    assert.equal(resolveParams({ profile: 'full', seed: 3 }, env).profile, 'full');
    assert.equal(resolveParams({ profile: 'full', seed: 3 }, env).seed, 3);
  });

  it('names the parameter and the allowed values on bad input', () => {
    assert.throws(
      () => resolveParams({ profile: 'huge' }, {}),
      /profile: "huge" is not a profile; choose one of smoke, teaching, full/,
    );
    assert.throws(
      () => resolveParams({}, { ARTSTYLE_SEED: '1.5' }),
      /seed: "1.5" is not an integer in 0..4294967295/,
    );
    assert.throws(() => resolveParams({ outDir: '  ' }, {}), /outDir: expected a folder path/);
  });
});

describe('requireStepOutput', () => {
  it('says which notebook and command to run first when an earlier output is missing', () => {
    const out = tempDir('params-');
    const p = resolveParams({ outDir: out, profile: 'smoke' }, {});
    assert.throws(
      () => requireStepOutput(p, 'pretrain', 'model/model.json'),
      /run notebook 02-pretraining first \(or `artstyle pretrain`\) with the same profile \(smoke\)/,
    );
    fs.mkdirSync(path.join(stepDir(p, 'pretrain'), 'model'), { recursive: true });
    fs.writeFileSync(path.join(stepDir(p, 'pretrain'), 'model', 'model.json'), '{}');
    assert.equal(
      requireStepOutput(p, 'pretrain', 'model/model.json'),
      path.join(out, 'pretrain', 'model', 'model.json'),
    );
  });
});
