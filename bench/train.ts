/**
 * Training speed of the step the notebooks run, beside PyTorch on the same network, in one run.
 *
 * What is timed: lib/train/step.ts's TrainStep as the trainer chooses it (lib/train/fit.ts): the
 * profile's micro-batch, or the whole batch where it fits the wasm heap, else what fits; on one
 * core wholeBatchStep or microBatchStep, on n cores parallelStep (lib/train/parallel.ts) with the
 * micro-batches on min(n, micro-batches) worker threads, which makes the same update. The model,
 * optimizer and loss are the study's:
 * lib/models buildXception under buildClassifier (256-unit head, L2 0.0075, dropout 0.5), SGD
 * with momentum 0.9 at the teaching profile's fine-tuning rate, Xception's preprocessing, seeded
 * dropout, on the wasm backend with lib/backend's gradient kernels. The first `--warmup` steps
 * are not timed; images/s is the batch over the median step.
 *
 * Each configuration runs in its own child process, so each reports its own peak RSS; the
 * PyTorch reference (bench/torch_xception.py, same topology, batch and optimizer,
 * `torch.set_num_threads(n)`) runs right after ours for every core count under /usr/bin/python3
 * (skipped with a note when torch does not import), and the ratio is printed beside it.
 * These machines are noisy (the same run varies by 1.5x from minute to minute), so `--rounds R`
 * repeats every pair R times, alternating ours and PyTorch, and prints the medians and the median
 * of the per-round ratios; the scaling line is the median of per-round scalings.
 *
 * Usage: npm run bench:train [-- --input 96 --width 0.25 --batch 16 --steps 5 --warmup 2
 *        --cores 1,2 --full --full-batch 16 --frozen 0 --profile --kernels simd|composed
 *        --micro-batch 8|auto --full-micro-batch auto|N --rounds 3]
 *   --micro-batch      at teaching size; default the teaching profile's (8: two per batch)
 *   --full-micro-batch at full size; default the full profile's (auto: what fits the heap)
 *   --full       also full size (299 px, width 1) at --full-batch
 *   --profile    one tf.profile of a single-core step: kernel time by kernel
 *   --kernels    which gradient kernels to use (lib/backend/wasm-gradients selection)
 * node dist/bench/train.js --compare-kernels [same options]: how far the SIMD kernels move one
 *   step's gradients from the composed ones.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../lib/backend/select';
import { setWasmKernelSet, type WasmKernelSet } from '../lib/backend/wasm-gradients';
import { buildClassifier, buildXception, freezeBlocks, preprocessInput } from '../lib/models';
import { setDropoutStep } from '../lib/models/seeded-dropout';
import { makeOptimizer, disposeOptimizer } from '../lib/train/loop';
import { chooseMicroBatch, microBatchGradients } from '../lib/train/microbatch';
import { trainerStep } from '../lib/train/fit';
import type { StepContext, TrainStep } from '../lib/train/step';
import type { Batch } from '../lib/train/types';
import { orderedWeights } from '../lib/train/weights';
import { profiles } from '../lib/config/profiles';
import { Rng } from '../lib/util/rng';

interface Config {
  input: number;
  width: number;
  batch: number;
  classes: number;
  steps: number;
  warmup: number;
  frozen: number;
  cores: number;
  kernels: WasmKernelSet;
  /** Images per micro-batch; null = the trainer's automatic choice (what fits the heap). */
  microBatch: number | null;
}

interface Options extends Omit<Config, 'cores'> {
  /** The micro-batch at full size (null: automatic, as the full profile trains). */
  fullMicroBatch: number | null;
  coreList: number[];
  full: boolean;
  fullBatch: number;
  profile: boolean;
  rounds: number;
}

const LR = 3e-3;
const MOMENTUM = 0.9;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    input: 96,
    width: 0.25,
    batch: 16,
    classes: 12,
    steps: 5,
    warmup: 2,
    frozen: 0,
    kernels: 'simd',
    // As the teaching profile trains: two micro-batches of 8 per batch of 16.
    microBatch: profiles.teaching.microBatch,
    fullMicroBatch: profiles.full.microBatch,
    coreList: [...new Set([1, os.availableParallelism()])],
    full: false,
    fullBatch: 16,
    profile: false,
    rounds: 3,
  };
  const numeric: Record<string, keyof Options> = {
    '--input': 'input',
    '--width': 'width',
    '--batch': 'batch',
    '--classes': 'classes',
    '--steps': 'steps',
    '--warmup': 'warmup',
    '--frozen': 'frozen',
    '--full-batch': 'fullBatch',
    '--rounds': 'rounds',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--full' || arg === '--profile') {
      o[arg === '--full' ? 'full' : 'profile'] = true;
      continue;
    }
    const next = argv[++i] ?? '';
    if (arg === '--cores') {
      o.coreList = next.split(',').map(Number);
      if (o.coreList.some((c) => !Number.isInteger(c) || c < 1))
        throw new Error(`bench/train: --cores expects a list like 1,2, got '${next}'`);
    } else if (arg === '--micro-batch' || arg === '--full-micro-batch') {
      const m = next === 'auto' ? null : Number(next);
      if (m !== null && (!Number.isInteger(m) || m < 1))
        throw new Error(`bench/train: ${arg} expects an integer >= 1 or auto, got '${next}'`);
      o[arg === '--micro-batch' ? 'microBatch' : 'fullMicroBatch'] = m;
    } else if (arg === '--kernels') {
      if (next !== 'simd' && next !== 'composed')
        throw new Error(`bench/train: --kernels expects simd or composed, got '${next}'`);
      o.kernels = next as WasmKernelSet;
    } else {
      const key = numeric[arg];
      const value = Number(next);
      if (!key || !Number.isFinite(value) || value < 0)
        throw new Error(`bench/train: bad argument '${arg} ${next}'`);
      (o[key] as number) = value;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// One configuration, in a child process.

export function benchModel(c: Pick<Config, 'input' | 'width' | 'classes'>): tf.LayersModel {
  const base = buildXception({ inputSize: c.input, widthMultiplier: c.width, seed: 1 });
  return buildClassifier(base, { numClasses: c.classes, denseUnits: 256, seed: 1 });
}

export function seededBatch(c: Pick<Config, 'input' | 'batch' | 'classes'>, seed = 2024): Batch {
  const rng = new Rng(seed);
  const n = c.batch;
  const x = new Float32Array(n * c.input * c.input * 3).map(() => rng.range(0, 255));
  const labels = Int32Array.from({ length: n }, () => rng.int(c.classes));
  const ids = Array.from({ length: n }, (_, i) => `bench-${i}`);
  return { x, labels, ids, n, height: c.input, width: c.input };
}

interface ChildResult {
  /** Images per micro-batch, and the worker threads that train them (1: the main thread). */
  microBatch: number;
  threads: number;
  imagesPerSecond: number;
  /** Images of the timed steps over the process's CPU time during them (all its threads). */
  imagesPerCpuSecond: number;
  msPerStep: number;
  peakRssMiB: number;
  profile?: string[];
}

async function runChild(c: Config, profile: boolean): Promise<ChildResult> {
  await selectBackend({ force: 'wasm', log: null });
  setWasmKernelSet(c.kernels);
  const model = benchModel(c);
  freezeBlocks(model, c.frozen);
  const optimizer = makeOptimizer({ kind: 'sgd', lr: LR, momentum: MOMENTUM });
  const ctx: StepContext = {
    model,
    optimizer,
    variables: orderedWeights(model)
      .filter((w) => w.trainable)
      .map((w) => w.variable.read() as tf.Variable),
    numClasses: c.classes,
    classWeights: null,
    preprocess: (x) => preprocessInput('xception', x),
  };
  // The step the trainer chooses (lib/train/fit.ts chooseRunStep): the micro-batch asked for, or
  // the whole batch where it fits the wasm heap, else micro-batches of what fits (so the full size
  // runs at the seed's batch 16); the micro-batches on min(cores, micro-batches) threads: the
  // main thread and the rest as workers.
  const micro = chooseMicroBatch({ model, batchSize: c.batch, requested: c.microBatch });
  const m = micro.microBatch;
  const threads = Math.min(c.cores, Math.ceil(c.batch / m));
  const { step, close } = trainerStep(c.batch, m, threads, c.kernels);
  const batch = seededBatch(c);
  const times: number[] = [];
  let cpu0: NodeJS.CpuUsage | null = null;
  for (let s = 0; s < c.warmup + c.steps; s++) {
    setDropoutStep(model, s);
    if (s === c.warmup) cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await step(batch, ctx);
    if (s >= c.warmup) times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  let lines: string[] | undefined;
  if (profile) lines = await profileStep(step, batch, ctx);
  await close();
  disposeOptimizer(optimizer);
  model.dispose();
  const ms = median(times);
  return {
    microBatch: m,
    threads,
    imagesPerSecond: (c.batch * 1000) / ms,
    imagesPerCpuSecond: (c.batch * c.steps) / cpuSeconds,
    msPerStep: ms,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    ...(lines ? { profile: lines } : {}),
  };
}

async function profileStep(step: TrainStep, batch: Batch, ctx: StepContext): Promise<string[]> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await step(batch, ctx);
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byName.set(k.name, e);
    total += ms;
  }
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
  return [
    `tf.profile of one step: ${info.kernels.length} kernel calls, ${total.toFixed(0)} ms in kernels, ${wall.toFixed(0)} ms wall (profiling syncs every kernel)`,
    ...rows
      .slice(0, 18)
      .map(
        ([name, e]) =>
          `  ${name.padEnd(38)} ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(5)} calls`,
      ),
  ];
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---------------------------------------------------------------------------------------------
// The parent: one child per configuration, PyTorch beside each.

interface TorchResult {
  images_per_s: number;
  images_per_cpu_s: number;
  ms_per_step: number;
  threads: number;
  torch: string;
  peak_rss_mib: number;
}

const PYTHON = '/usr/bin/python3';

function torchAvailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} has no torch (apt-get install python3-torch): PyTorch reference skipped`;
  }
}

function runTorch(c: Config): TorchResult | string {
  const script = path.join(__dirname, '..', '..', 'bench', 'torch_xception.py');
  const args = [script, '--input', `${c.input}`, '--width', `${c.width}`, '--batch', `${c.batch}`];
  args.push('--classes', `${c.classes}`, '--threads', `${c.cores}`, '--lr', `${LR}`);
  args.push('--momentum', `${MOMENTUM}`, '--steps', `${c.steps}`, '--warmup', `${c.warmup}`);
  const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (r.status !== 0) return `torch failed: ${(r.stderr || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

function runOurs(c: Config, profile: boolean): ChildResult | string {
  const r = spawnSync(
    process.execPath,
    [__filename, '--child', JSON.stringify({ ...c, profile })],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const last = (r.stdout || '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{'))
    return `failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(last) as ChildResult;
}

/**
 * The gradients of one teaching-size step under both wasm kernel sets: the largest difference
 * of any variable's gradient relative to that gradient's largest magnitude.
 */
async function compareKernelSets(o: Options): Promise<void> {
  await selectBackend({ force: 'wasm', log: null });
  const model = benchModel(o);
  freezeBlocks(model, o.frozen);
  const ordered = orderedWeights(model);
  const variables = ordered.filter((w) => w.trainable).map((w) => w.variable.read() as tf.Variable);
  const batch = seededBatch(o);
  const grads = (set: WasmKernelSet): Float32Array[] => {
    setWasmKernelSet(set);
    setDropoutStep(model, 0);
    const out = microBatchGradients(
      batch,
      {
        model,
        variables,
        numClasses: o.classes,
        classWeights: null,
        preprocess: (x) => preprocessInput('xception', x),
      },
      0,
      batch.n,
      true,
    );
    const values = variables.map((v) => out.grads[v.name]!.dataSync() as Float32Array);
    tf.dispose([out.value, out.hit, ...Object.values(out.grads)]);
    return values;
  };
  const composed = grads('composed');
  const simd = grads('simd');
  // Reference for float-rounding sensitivity: the composed kernels with every pixel moved by
  // 1e-4 (of 0..255), far below any image's precision.
  const pixels = batch.x.slice();
  batch.x.forEach((v, i) => (batch.x[i] = v + 1e-4));
  const nudged = grads('composed');
  batch.x.set(pixels);
  const names = ordered.filter((w) => w.trainable).map((w) => w.name);
  const report = (label: string, other: Float32Array[]): string => {
    let worst = 0;
    let where = '';
    let num = 0;
    let den = 0;
    composed.forEach((a, i) => {
      const b = other[i]!;
      let diff = 0;
      let ref = 0;
      for (let j = 0; j < a.length; j++) {
        diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
        ref = Math.max(ref, Math.abs(a[j]!));
        num += (a[j]! - b[j]!) ** 2;
        den += a[j]! ** 2;
      }
      if (ref > 0 && diff / ref > worst) [worst, where] = [diff / ref, names[i]!];
    });
    return `${label}: max relative difference ${worst.toExponential(2)} (${where}), all gradients together ${Math.sqrt(num / den).toExponential(2)}`;
  };
  console.log(
    `gradients of one step (${o.input} px, width ${o.width}, batch ${o.batch}, ${variables.length} variables; per variable max |diff| / max |gradient|; together: L2 norm of the difference / L2 norm)`,
  );
  console.log('  ' + report('simd vs composed kernels', simd));
  console.log('  ' + report('composed, pixels + 1e-4 (rounding sensitivity)', nudged));
  model.dispose();
}

async function main(): Promise<void> {
  if (process.argv[2] === '--compare-kernels') {
    await compareKernelSets(parseOptions(process.argv.slice(3)));
    return;
  }
  if (process.argv[2] === '--child') {
    const c = JSON.parse(process.argv[3]!) as Config & { profile: boolean };
    console.log(JSON.stringify(await runChild(c, c.profile)));
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const noTorch = torchAvailable();
  const load = os.loadavg().map((l) => l.toFixed(1));
  console.log(
    `bench:train  node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x ${os.availableParallelism()}, ` +
      `load ${load.join(' ')}; wasm backend, ${o.kernels} gradient kernels`,
  );
  console.log(
    `step: the trainer's (lib/train/fit.ts: wholeBatchStep, microBatchStep, or parallelStep with its micro-batches on min(cores, micro-batches) worker threads); Xception + study head, ` +
      `${o.classes} classes, SGD lr ${LR} momentum ${MOMENTUM}, ${o.frozen} blocks frozen; ` +
      `${o.warmup} warm-up + ${o.steps} timed steps, median`,
  );
  if (noTorch) console.log(noTorch);
  type Size = Pick<Config, 'input' | 'width' | 'batch' | 'microBatch'> & { label: string };
  const sizes: Size[] = [
    { label: 'teaching', input: o.input, width: o.width, batch: o.batch, microBatch: o.microBatch },
  ];
  if (o.full)
    sizes.push({
      label: 'full',
      input: 299,
      width: 1,
      batch: o.fullBatch,
      microBatch: o.fullMicroBatch,
    });
  interface Pair {
    ours: ChildResult | string;
    torch: TorchResult | string;
  }
  const runs = new Map<string, Pair[]>();
  const key = (size: Size, cores: number) => `${size.label} ${cores}`;
  let profile: string[] | undefined;
  for (let round = 0; round < o.rounds; round++) {
    for (const size of sizes) {
      for (const cores of o.coreList) {
        const c: Config = { ...o, ...size, cores };
        const wantProfile = o.profile && round === 0 && cores === 1 && size.label === 'teaching';
        const ours = runOurs(c, wantProfile);
        const torch = noTorch ? noTorch : runTorch(c);
        if (typeof ours !== 'string') profile ??= ours.profile;
        const list = runs.get(key(size, cores)) ?? [];
        list.push({ ours, torch });
        runs.set(key(size, cores), list);
        if (o.rounds > 1) {
          const rate = (r: ChildResult | TorchResult | string) =>
            typeof r === 'string'
              ? 'failed'
              : ('imagesPerSecond' in r ? r.imagesPerSecond : r.images_per_s).toFixed(2);
          console.log(
            `round ${round + 1}/${o.rounds}: ${size.label} on ${cores} core(s): ours ${rate(ours)} img/s, torch ${rate(torch)} img/s`,
          );
        }
      }
    }
  }
  console.log(
    `\nsize      px  width batch micro cores threads |   ours img/s  ms/step  RSS MiB |  torch img/s  threads  RSS MiB | ours/torch   (medians of ${o.rounds} round${o.rounds > 1 ? 's' : ''})`,
  );
  const scaling: string[] = [];
  const cpuLines: string[] = [];
  for (const size of sizes) {
    for (const cores of o.coreList) {
      const pairs = runs.get(key(size, cores))!;
      const ours = pairs.map((p) => p.ours).filter((r): r is ChildResult => typeof r !== 'string');
      const torch = pairs
        .map((p) => p.torch)
        .filter((r): r is TorchResult => typeof r !== 'string');
      const first = ours[0];
      let line =
        `${size.label.padEnd(9)} ${String(size.input).padStart(3)} ${String(size.width).padStart(6)} ` +
        `${String(size.batch).padStart(5)} ${(first ? String(first.microBatch) : '-').padStart(5)} ` +
        `${String(cores).padStart(5)} ${(first ? String(first.threads) : '-').padStart(7)} | `;
      if (!first) line += String(pairs[0]!.ours).padEnd(37);
      else
        line += `${median(ours.map((r) => r.imagesPerSecond))
          .toFixed(2)
          .padStart(12)} ${median(ours.map((r) => r.msPerStep))
          .toFixed(0)
          .padStart(8)} ${Math.max(...ours.map((r) => r.peakRssMiB))
          .toFixed(0)
          .padStart(8)}`;
      line += ' | ';
      if (torch.length === 0) line += String(pairs[0]!.torch);
      else {
        line += `${median(torch.map((r) => r.images_per_s))
          .toFixed(2)
          .padStart(12)} ${String(torch[0]!.threads).padStart(8)} ${Math.max(
          ...torch.map((r) => r.peak_rss_mib),
        )
          .toFixed(0)
          .padStart(8)}`;
        const ratios = pairs.flatMap((p) =>
          typeof p.ours === 'string' || typeof p.torch === 'string'
            ? []
            : [p.ours.imagesPerSecond / p.torch.images_per_s],
        );
        if (ratios.length) line += ` | ${median(ratios).toFixed(2).padStart(9)}x`;
      }
      console.log(line);
      if (first && torch.length)
        cpuLines.push(
          `${size.label} on ${cores} core(s): ours ${median(ours.map((r) => r.imagesPerCpuSecond)).toFixed(2)}, ` +
            `torch ${median(torch.map((r) => r.images_per_cpu_s)).toFixed(2)} images per CPU-second, ratio ${median(
              pairs.flatMap((p) =>
                typeof p.ours === 'string' || typeof p.torch === 'string'
                  ? []
                  : [p.ours.imagesPerCpuSecond / p.torch.images_per_cpu_s],
              ),
            ).toFixed(2)}x`,
        );
    }
    const one = runs.get(key(size, 1));
    for (const cores of o.coreList.filter((c) => c > 1)) {
      const many = runs.get(key(size, cores));
      if (!one || !many) continue;
      const per = (side: 'ours' | 'torch') =>
        many.flatMap((p, r) => {
          const a = p[side];
          const b = one[r]![side];
          if (typeof a === 'string' || typeof b === 'string') return [];
          const rate = (x: ChildResult | TorchResult) =>
            'imagesPerSecond' in x ? x.imagesPerSecond : x.images_per_s;
          return [rate(a) / rate(b)];
        });
      const x = (v: number[]) => (v.length ? `${median(v).toFixed(2)}x` : '-');
      scaling.push(
        `${size.label}: ${cores} cores over 1: ours ${x(per('ours'))}, torch ${x(per('torch'))}`,
      );
    }
  }
  if (scaling.length) console.log('\nscaling (median of per-round ratios) ' + scaling.join('; '));
  // PyTorch with set_num_threads(n) keeps more than n cores busy (measured: about 1.4 with one
  // thread), and so does Node (its compiler and collector threads): per CPU-second both sides
  // are charged for what they really use.
  if (cpuLines.length)
    console.log('\nper CPU-second (all threads of each process): ' + cpuLines.join('; '));
  if (profile) console.log('\n' + profile.join('\n'));
  console.log(
    `\nload after: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
