/**
 * The seed's configuration on the wasm backend, measured with the real trainer: `full` profile
 * (full Xception, 299 px, batch 16, the study's optimizers, augmentation and dropout) on a folder of
 * sculptures (the bundled teaching images by default), for a bounded number of steps or minutes.
 * Each phase runs in its own process so that its peak RSS is its own.
 *
 *   pretrain   the pipeline's pretraining step (notebook 02, `artstyle pretrain`)
 *   member     one sweep member: fine-tuning with the first N blocks frozen (notebook 03) from the
 *              pretraining run's last checkpoint (here its first, unfinished one)
 *
 * Prints per phase: the micro-batch chosen, images/s over the steps after the first (the first
 * includes XNNPACK's weight packing), seconds per step, peak RSS and the wasm heap.
 *
 * Usage: node dist/bench/fullsize.js [--phase pretrain|member] [--blocks 0] [--steps 40]
 *        [--minutes 10] [--out /tmp/artstyle-fullsize] [--sculptures DIR] [--micro-batch N]
 * (without --phase: prepare, then both phases, each in a child process, then the PyTorch
 * reference: bench/torch_xception.py on the same full-size network, every block training, batch
 * 4 on 1 thread, printed beside the member's images per CPU-second as a ratio; --no-torch skips it)
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../lib/backend/select';
import { freezeBlocks, setDropoutStep, preprocessInput } from '../lib/models';
import { bundledDataDir, resolveParams, stepDir } from '../lib/pipeline/params';
import * as study1 from '../lib/pipeline/study1';
import { loadCheckpointWeights } from '../lib/train/checkpoint';
import { train, type TrainCallbacks } from '../lib/train/loop';

const { values } = parseArgs({
  options: {
    phase: { type: 'string' },
    blocks: { type: 'string', default: '0' },
    steps: { type: 'string', default: '40' },
    minutes: { type: 'string', default: '10' },
    out: { type: 'string', default: '/tmp/artstyle-fullsize' },
    sculptures: { type: 'string', default: path.join(bundledDataDir('teaching'), 'sculptures') },
    'micro-batch': { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
  },
});

const PYTHON = '/usr/bin/python3';

/** Images per CPU-second of full-size Xception + head in PyTorch (bench/torch_xception.py). */
function torchReference(): number | string {
  const script = path.join(__dirname, '..', '..', 'bench', 'torch_xception.py');
  const args = [script, '--input', '299', '--width', '1', '--batch', '4', '--threads', '1'];
  args.push('--steps', '2', '--warmup', '1', '--lr', '1e-4', '--momentum', '0.9');
  const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (r.status !== 0)
    return `PyTorch reference failed: ${(r.stderr || '').trim().split('\n').pop() ?? ''}`;
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    images_per_cpu_s: number;
    torch: string;
  };
  console.log(
    `PyTorch ${out.torch}, same network (every block trains), batch 4, 1 thread: ${out.images_per_cpu_s.toFixed(3)} images per CPU-second`,
  );
  return out.images_per_cpu_s;
}

function params() {
  return resolveParams({ profile: 'full', sculpturesDir: values.sculptures, outDir: values.out });
}

/** Stops the run after `steps` steps or `minutes`, and times the steps. */
function limiter(steps: number, minutes: number) {
  const controller = new AbortController();
  const t0 = Date.now();
  const times: number[] = [];
  let images = 0;
  let last = Date.now();
  let cpuStart = process.cpuUsage();
  let cpuSeconds = 0;
  const callbacks: TrainCallbacks = {
    onBatchEnd(_epoch, _batch, logs) {
      const now = Date.now();
      times.push((now - last) / 1000);
      last = now;
      const cpu = process.cpuUsage(cpuStart);
      cpuStart = process.cpuUsage();
      if (times.length > 1) {
        images += logs.size;
        cpuSeconds += (cpu.user + cpu.system) / 1e6;
      }
      console.log(
        `  step ${times.length}: ${times[times.length - 1]!.toFixed(1)} s, loss ${logs.loss.toFixed(4)}, rss ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`,
      );
      if (times.length >= steps || now - t0 > minutes * 60000) controller.abort();
    },
  };
  const report = (label: string): void => {
    const rest = times.slice(1);
    const secs = rest.reduce((a, b) => a + b, 0);
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.buffer
      .byteLength;
    console.log(
      `${label}: ${times.length} steps; first ${times[0]?.toFixed(1)} s; after it ${rest.length} steps, ` +
        `${(secs / Math.max(1, rest.length)).toFixed(1)} s/step, ${(images / secs).toFixed(3)} images/s ` +
        `(${(images / cpuSeconds).toFixed(3)} per CPU-second); ` +
        `peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB; wasm heap ${heap ? (heap / 2 ** 30).toFixed(2) : '-'} GiB`,
    );
  };
  return { controller, callbacks, report };
}

async function phase(name: string): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const p = params();
  const config = study1.studyConfig(
    p,
    values['micro-batch'] ? { microBatch: Number(values['micro-batch']) } : {},
  );
  const sources = study1.sculptureSources(p, config);
  const lim = limiter(Number(values.steps), Number(values.minutes));
  if (name === 'pretrain') {
    await study1.pretrainStep(p, config, sources, {
      callbacks: lim.callbacks,
      signal: lim.controller.signal,
    });
    lim.report('pretrain (base frozen, head trains)');
    return;
  }
  const blocks = Number(values.blocks);
  const model = study1.buildStudyModel(config, sources.manifest.classNames.length, p.seed);
  loadCheckpointWeights(model, path.join(stepDir(p, 'pretrain'), 'checkpoint'));
  freezeBlocks(model, blocks);
  await train({
    model,
    optimizer: config.finetune.optimizer,
    trainSource: sources.train,
    valSource: sources.val,
    epochs: config.finetune.epochs,
    batchSize: config.finetune.batchSize,
    microBatch: config.microBatch,
    outDir: path.join(stepDir(p, 'sweep'), `block${blocks}`),
    seed: p.seed,
    preprocess: (x) => preprocessInput('xception', x),
    setDropoutStep,
    identity: { phase: 'finetune', frozenBlocks: blocks, bench: true },
    label: `block${blocks}`,
    callbacks: lim.callbacks,
    signal: lim.controller.signal,
  });
  lim.report(`sweep member block${blocks} (first ${blocks} blocks frozen)`);
  model.dispose();
}

async function main(): Promise<void> {
  if (values.phase) return phase(values.phase);
  const p = params();
  console.log(`full profile on wasm: ${p.sculpturesDir} -> ${p.outDir}`);
  await selectBackend({ force: 'wasm' });
  await study1.prepareSculptures(p, study1.studyConfig(p));
  let memberPerCpuSecond: number | null = null;
  for (const name of ['pretrain', 'member']) {
    const args = process.argv.slice(2).concat(['--phase', name]);
    const r = spawnSync(process.execPath, [__filename, ...args], {
      stdio: ['inherit', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    process.stdout.write(r.stdout ?? '');
    if (r.status !== 0) console.log(`${name}: exited with ${r.status ?? r.signal}`);
    const m = /\(([\d.]+) per CPU-second\)/.exec(r.stdout ?? '');
    if (name === 'member' && m) memberPerCpuSecond = Number(m[1]);
  }
  if (values['no-torch']) return;
  const ref = torchReference();
  if (typeof ref === 'string') console.log(ref);
  else if (memberPerCpuSecond !== null)
    console.log(
      `sweep member / PyTorch, images per CPU-second: ${(memberPerCpuSecond / ref).toFixed(3)}`,
    );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
