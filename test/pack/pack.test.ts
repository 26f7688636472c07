import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../../lib/pipeline/params';
import { tempDir } from '../tmp';

/**
 * The public API from a packed install: `npm pack` makes the tarball a user would get; it is
 * unpacked into a fresh project's node_modules/artstyle-lab, the dependencies are linked beside it
 * from this checkout's node_modules (where an install would have placed them), and a CommonJS
 * script, an ES module and a TypeScript file import the API from `artstyle-lab`.
 */

const root = projectRoot();

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Links this checkout's installed packages into the consumer's node_modules (not artstyle-lab). */
function linkDependencies(consumer: string): void {
  const from = path.join(root, 'node_modules');
  const to = path.join(consumer, 'node_modules');
  for (const entry of fs.readdirSync(from)) {
    if (entry === '.bin' || entry.startsWith('.') || entry === 'artstyle-lab') continue;
    const target = path.join(to, entry);
    if (!fs.existsSync(target)) fs.symlinkSync(path.join(from, entry), target);
  }
}

test('npm pack + install: require, import and TypeScript types of artstyle-lab work from the packed files', () => {
  const dir = tempDir('artstyle-pack-');
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = packed[0]!.files.map((f) => f.path);
  assert.ok(files.includes('dist/lib/index.js') && files.includes('dist/lib/index.d.ts'));
  assert.ok(
    !files.some((f) => f.startsWith('dist/test/') || f.startsWith('lib/')),
    'no tests or sources',
  );

  const consumer = path.join(dir, 'consumer');
  fs.mkdirSync(consumer);
  fs.writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  const tgz = path.join(dir, packed[0]!.filename);
  // The tarball unpacked where npm installs it (node_modules/<name>, without the tarball's
  // package/ prefix). `npm install --offline <tgz>` itself cannot run here: it would fetch the
  // dependencies, which are not in npm's cache offline; they are linked from this checkout instead.
  fs.mkdirSync(path.join(consumer, 'node_modules', 'artstyle-lab'), { recursive: true });
  run(
    'tar',
    [
      '-xzf',
      tgz,
      '-C',
      path.join(consumer, 'node_modules', 'artstyle-lab'),
      '--strip-components=1',
    ],
    consumer,
  );
  linkDependencies(consumer);
  const installed = path.join(consumer, 'node_modules', 'artstyle-lab');
  assert.ok(!fs.lstatSync(installed).isSymbolicLink(), 'the package is a copy of the packed files');

  fs.writeFileSync(
    path.join(consumer, 'cjs.js'),
    `const a = require('artstyle-lab');
const m = a.buildXception({ inputSize: 71, widthMultiplier: 0.125, seed: 1 });
console.log(JSON.stringify({ main: require.resolve('artstyle-lab'), layers: m.layers.length,
  fit: typeof a.fit, train: typeof a.train, member: typeof a.study1.sweepMemberStep,
  merge: typeof a.study1.mergeSweepStep, split: typeof a.data.stratifiedSplit }));`,
  );
  const cjs = JSON.parse(
    run(process.execPath, ['cjs.js'], consumer).trim().split('\n').pop()!,
  ) as Record<string, unknown>;
  assert.equal(cjs['main'], fs.realpathSync(path.join(installed, 'dist', 'lib', 'index.js')));
  assert.ok((cjs['layers'] as number) > 100, 'a real Xception was built');
  for (const k of ['fit', 'train', 'member', 'merge', 'split']) assert.equal(cjs[k], 'function', k);

  fs.writeFileSync(
    path.join(consumer, 'esm.mjs'),
    `import { buildXception, fit, mergeSweep, selectBest } from 'artstyle-lab';
console.log([buildXception, fit, mergeSweep, selectBest].map((f) => typeof f).join(','));`,
  );
  assert.equal(
    run(process.execPath, ['esm.mjs'], consumer).trim().split('\n').pop(),
    'function,function,function,function',
  );

  fs.writeFileSync(
    path.join(consumer, 'use.ts'),
    `import { buildXception, fit, type FitSpec, type FitCallback } from 'artstyle-lab';
const model = buildXception({ inputSize: 71, widthMultiplier: 0.125, seed: 1 });
const cb: FitCallback = { afterEpoch: (run, record) => console.log(run.label, record.val_accuracy) };
export function go(spec: Omit<FitSpec, 'model'>) { return fit({ ...spec, model }, [cb]); }
`,
  );
  fs.writeFileSync(
    path.join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'node16',
        moduleResolution: 'node16',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: ['use.ts'],
    }),
  );
  run(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
    consumer,
  );
});
