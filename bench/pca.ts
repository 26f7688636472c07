/**
 * Randomized PCA on the seed's real shape: 8,355 x 100,352 float32 (3.35 GB), 100 components,
 * read from a feature store on disk chunk by chunk. Goal: under 3 minutes and under 6 GB.
 *   npm run bench:pca                      # full shape; the store goes to $TMPDIR and is reused
 *   npm run bench:pca -- --rows 2000 --dims 20000 --keep
 * The synthetic matrix is low rank (60 directions with decaying strength) plus uniform noise.
 * Products run on worker threads (2 by default), each on its own wasm backend.
 * The PCA runs in a child process so that its peak resident memory (Linux VmHWM) is its own.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../lib/backend/select';
import { PCA } from '../lib/features/pca';
import { FeatureStore } from '../lib/features/store';
import { Rng } from '../lib/util/rng';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall back to the current value
  }
  return process.memoryUsage().rss;
}

async function generate(dir: string, rows: number, dims: number, chunkRows: number): Promise<void> {
  const rank = 60;
  const rng = new Rng(2024);
  const v = new Float32Array(rank * dims);
  for (let r = 0; r < rank; r++) {
    const strength = 20 / (1 + r);
    for (let c = 0; c < dims; c++) v[r * dims + c] = rng.normal() * strength;
  }
  const vT = tf.tensor2d(v, [rank, dims]);
  const store = FeatureStore.create(dir, dims);
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    const u = new Float32Array(n * rank);
    for (let i = 0; i < u.length; i++) u[i] = rng.normal() / Math.sqrt(dims);
    const prod = tf.tidy(() => tf.matMul(tf.tensor2d(u, [n, rank]), vT));
    const data = prod.dataSync() as Float32Array;
    prod.dispose();
    for (let i = 0; i < data.length; i++)
      data[i] = (data[i] as number) + (rng.uniform() - 0.5) * 0.1 + 0.5;
    store.append(
      Array.from({ length: n }, (_, i) => `row${start + i}`),
      data,
    );
    process.stderr.write(`\rgenerating ${start + n}/${rows} rows`);
  }
  process.stderr.write('\n');
  vT.dispose();
}

async function runPca(dir: string): Promise<void> {
  await selectBackend({ force: 'wasm', log: null });
  const store = FeatureStore.open(dir);
  const t0 = performance.now();
  const pca = await new PCA({ nComponents: 100, randomState: 42 }).fit(store);
  const seconds = (performance.now() - t0) / 1000;
  const ratio = pca.explainedVarianceRatio;
  process.send?.({
    seconds,
    peak: peakRssBytes(),
    backend: tf.getBackend(),
    solver: pca.solverUsed,
    ratioFirst: ratio.slice(0, 3),
    ratioSum: ratio.reduce((a, b) => a + b, 0),
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) return runPca(arg('dir', ''));
  const rows = Number(arg('rows', '8355'));
  const dims = Number(arg('dims', '100352'));
  const chunkRows = Number(arg('chunk-rows', '256'));
  const dir = arg('dir', path.join(os.tmpdir(), `artstyle-bench-pca-${rows}x${dims}`));
  const existing = fs.existsSync(path.join(dir, 'index.json')) ? FeatureStore.open(dir) : null;
  if (!existing || existing.rows !== rows || existing.dims !== dims) {
    fs.rmSync(dir, { recursive: true, force: true });
    await selectBackend({ force: 'wasm', log: null });
    const t0 = performance.now();
    await generate(dir, rows, dims, chunkRows);
    console.log(
      `generated ${rows} x ${dims} float32 in ${dir} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  const child = fork(__filename, ['--child', '--dir', dir], { stdio: 'inherit' });
  const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m) => resolve(m as Record<string, unknown>));
    child.on('exit', (code) =>
      code ? reject(new Error(`PCA child exited with ${code}`)) : undefined,
    );
  });
  const seconds = result['seconds'] as number;
  const gb = (result['peak'] as number) / 2 ** 30;
  console.log(
    `PCA ${rows} x ${dims} -> 100 (${result['solver']}, backend ${result['backend']}, ${os.cpus().length} cores): ` +
      `${seconds.toFixed(1)} s, peak RSS ${gb.toFixed(2)} GiB ` +
      `(goal < 180 s and < 6 GiB: ${seconds < 180 && gb < 6 ? 'met' : 'NOT met'}); ` +
      `explained variance ratio first 3 ${(result['ratioFirst'] as number[]).map((r) => r.toFixed(4)).join(' ')}, sum of 100 ${(result['ratioSum'] as number).toFixed(4)}`,
  );
  if (!process.argv.includes('--keep') && !process.argv.includes('--dir'))
    fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
