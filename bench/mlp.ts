/**
 * 1. One SNN epoch on the seed's shape: 8,355 samples x 100 PCA components, hidden [512, 256],
 *    30 genre outputs, batch 32, SGD. Goal: under 2 s. Prints the epoch time with the seed's
 *    full-data loss pass and without it (loss from the mini-batches), for the WebAssembly SIMD
 *    engine (the default) and the JavaScript kernel; both give the same numbers.
 * 2. One (split, seed) of study 2 at the teaching profile's size (1,435 rows, 1,148 for training
 *    split by painting, 100 components, 30 genres; random data): the four networks trained by
 *    the real functions (`trainGenreModels` of lib/pipeline/study2-train.ts, with the teaching
 *    configuration), with the loss passes of a single run and without them (the repetition over
 *    seeds), beside NumPy running the same training loops (bench/mlp_numpy.py, one BLAS thread,
 *    CPU time) as a ratio. Goal: the repetition's 8 extra runs well under 100 s on 2 cores, so
 *    under 25 s of CPU per run.
 *   npm run bench:mlp            (both; `-- --study2` only the second)
 */
import { execFileSync } from 'node:child_process';
import { metadataProfiles } from '../lib/config/study2';
import { zeros } from '../lib/mlp/matrix';
import { SimpleNeuralNetwork } from '../lib/mlp/snn';
import { makeSplit, trainGenreModels, type GenreData } from '../lib/pipeline/study2-train';
import { Rng } from '../lib/util/rng';

const PYTHON = '/usr/bin/python3';

/** NumPy's CPU seconds per network for the same loops, or a note why there are none. */
function numpyReference(rows: number, dims: number, outputs: number, lossPass: boolean) {
  try {
    const out = execFileSync(
      PYTHON,
      [`${__dirname}/../../bench/mlp_numpy.py`, `${rows}`, `${dims}`, `${outputs}`, lossPass ? '1' : '0'], // prettier-ignore
      {
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
        encoding: 'utf8',
      },
    );
    return JSON.parse(out) as Record<string, number>;
  } catch (e) {
    return `NumPy reference skipped (${PYTHON} bench/mlp_numpy.py: ${(e as Error).message.split('\n')[0]})`;
  }
}

function study2Run(): void {
  const config = metadataProfiles.teaching;
  const rows = 1435;
  const dims = config.nComponents;
  const genres = 30;
  const rng = new Rng(1);
  const data: GenreData = {
    X: Array.from({ length: rows }, () => Array.from({ length: dims }, () => rng.normal())),
    Y: Array.from({ length: rows }, () =>
      Array.from({ length: genres }, (_, g) => (g === 0 || rng.uniform() < 0.06 ? 1 : 0)),
    ),
    genres: Array.from({ length: genres }, (_, g) => `genre ${g}`),
    artists: Array.from({ length: rows }, (_, i) => `artist ${i % 50}`),
    ids: Array.from({ length: rows }, (_, i) => `${i}`),
  };
  const split = makeSplit(data, 'painting', config, 42);
  for (const histories of [true, false]) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const result = trainGenreModels(data, split, 'painting', config, 42, null, { histories });
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const ref = numpyReference(split.train.length, dims, genres, histories);
    const what = histories ? 'single run (loss passes)' : 'repetition run (no loss passes)';
    console.log(
      `study 2, one (split, seed), ${result.trainRows} x ${dims} -> [512, 256] -> ${genres}, teaching configuration, ${what}: ` +
        `${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU` +
        (typeof ref === 'string'
          ? `; ${ref}`
          : `; NumPy ${Object.values(ref)
              .reduce((a, b) => a + b, 0)
              .toFixed(1)} s CPU (ratio ${(
              cpu / Object.values(ref).reduce((a, b) => a + b, 0)
            ).toFixed(2)})`),
    );
    // Per network only the wall time is known (trainGenreModels times each); under load it is
    // well above the CPU time, so only the totals are compared as a ratio.
    for (const m of result.models) {
      const r = typeof ref === 'string' ? undefined : ref[m.model];
      console.log(
        `  ${m.model}: ${m.seconds.toFixed(1)} s wall` +
          (r === undefined ? '' : `; NumPy ${r.toFixed(1)} s CPU`),
      );
    }
    if (!histories)
      console.log(
        `  goal: under 25 s of CPU per repetition run (8 runs on 2 cores well under 100 s): ${cpu < 25 ? 'met' : 'NOT met'}`,
      );
  }
}

/** One engine per process: code that has seen both engines' matrices runs slower for each. */
function main(): void {
  if (process.argv.includes('--study2-run')) return study2Run();
  const only = process.argv.indexOf('--engine');
  if (only < 0) {
    const engines = process.argv.includes('--study2') ? [] : ['wasm', 'js'];
    for (const engine of engines)
      execFileSync(process.execPath, [__filename, '--engine', engine], { stdio: 'inherit' });
    execFileSync(process.execPath, [__filename, '--study2-run'], { stdio: 'inherit' });
    return;
  }
  const engine = process.argv[only + 1] as 'wasm' | 'js';
  const n = 8355;
  const d = 100;
  const k = 30;
  const rng = new Rng(1);
  const X = zeros(n, d);
  for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
  const Y = zeros(n, k);
  for (let i = 0; i < Y.data.length; i++) Y.data[i] = rng.uniform() < 0.06 ? 1 : 0;
  for (const lossOn of ['full', 'batches'] as const) {
    const net = new SimpleNeuralNetwork({ seed: 42, engine });
    const times: number[] = [];
    const cpu: number[] = [];
    net.fit(X, Y, { epochs: 1, lossOn }); // warm-up: JIT
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      net.fit(X, Y, { epochs: 1, lossOn });
      const c = process.cpuUsage(c0);
      times.push((performance.now() - t0) / 1000);
      cpu.push((c.user + c.system) / 1e6);
    }
    const best = Math.min(...times);
    console.log(
      `SNN epoch, ${n} x ${d} -> 512 -> 256 -> ${k}, batch 32, engine ${engine}, loss on ${lossOn}: ` +
        `best ${best.toFixed(2)} s, runs ${times.map((t) => t.toFixed(2)).join(' ')} s ` +
        `(CPU time ${cpu.map((t) => t.toFixed(2)).join(' ')} s; a wall time well above it means other load) ` +
        `(goal < 2 s: ${best < 2 ? 'met' : 'NOT met'})`,
    );
  }
}

main();
