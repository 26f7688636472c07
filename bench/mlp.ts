/**
 * One SNN epoch on the seed's shape: 8,355 samples x 100 PCA components, hidden [512, 256],
 * 30 genre outputs, batch 32, SGD. Goal: under 2 s. Prints the epoch time with the seed's
 * full-data loss pass and without it (loss from the mini-batches), for the WebAssembly SIMD
 * engine (the default) and the JavaScript kernel; both give the same numbers.
 *   npm run bench:mlp
 */
import { execFileSync } from 'node:child_process';
import { zeros } from '../lib/mlp/matrix';
import { SimpleNeuralNetwork } from '../lib/mlp/snn';
import { Rng } from '../lib/util/rng';

/** One engine per process: code that has seen both engines' matrices runs slower for each. */
function main(): void {
  const only = process.argv.indexOf('--engine');
  if (only < 0) {
    for (const engine of ['wasm', 'js'])
      execFileSync(process.execPath, [__filename, '--engine', engine], { stdio: 'inherit' });
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
