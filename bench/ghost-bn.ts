/**
 * How far micro-batches move the teaching results (lib/train/microbatch.ts): the same training
 * with the whole batch of 16 and with micro-batches of `--micro-batch` (default 4), from the same
 * start, on the teaching profile through the pipeline's own steps:
 *
 *   pretrain   --pretrain-epochs epochs of pretraining (base frozen: its BN layers in inference
 *              mode, so only float rounding can differ)
 *   member     --finetune-epochs epochs of the sweep member --blocks N from a finished teaching
 *              pretraining in --from (BN of the unfrozen blocks in training mode: ghost batch norm)
 *
 * Prints each run's history and the differences. Usage: node dist/bench/ghost-bn.js --from
 * runs/teaching [--blocks 3] [--pretrain-epochs 1] [--finetune-epochs 2] [--micro-batch 4]
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../lib/backend/select';
import { resolveParams, stepDir, bundledDataDir } from '../lib/pipeline/params';
import * as study1 from '../lib/pipeline/study1';
import { finetune } from '../lib/pipeline/recipes';
import type { EpochRecord } from '../lib/train/history';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: 'runs/teaching' },
    out: { type: 'string', default: '/tmp/artstyle-ghost-bn' },
    sculptures: { type: 'string', default: path.join(bundledDataDir('teaching'), 'sculptures') },
    blocks: { type: 'string', default: '3' },
    'pretrain-epochs': { type: 'string', default: '1' },
    'finetune-epochs': { type: 'string', default: '2' },
    'micro-batch': { type: 'string', default: '4' },
  },
});

function show(name: string, h: EpochRecord[]): void {
  for (const r of h)
    console.log(
      `  ${name} epoch ${r.epoch}: loss ${r.loss.toFixed(4)} acc ${r.accuracy.toFixed(4)} val_loss ${r.val_loss.toFixed(4)} val_acc ${r.val_accuracy.toFixed(4)}`,
    );
}

function diff(a: EpochRecord[], b: EpochRecord[]): string {
  // The last epoch both have (a finished run asked for fewer epochs keeps its longer history).
  const epoch = Math.min(a.length, b.length);
  const x = a[epoch - 1]!;
  const y = b[epoch - 1]!;
  return `epoch ${epoch}: |d loss| ${Math.abs(x.loss - y.loss).toExponential(2)}, |d acc| ${Math.abs(x.accuracy - y.accuracy).toFixed(4)}, |d val_loss| ${Math.abs(x.val_loss - y.val_loss).toExponential(2)}, |d val_acc| ${Math.abs(x.val_accuracy - y.val_accuracy).toFixed(4)}`;
}

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const from = resolveParams({
    profile: 'teaching',
    sculpturesDir: values.sculptures,
    outDir: values.from,
  });
  const micro = Number(values['micro-batch']);
  const pe = Number(values['pretrain-epochs']);
  const fe = Number(values['finetune-epochs']);
  const blocks = Number(values.blocks);
  const results: Record<string, EpochRecord[]> = {};
  for (const [name, microBatch] of [
    ['whole', 16],
    [`micro${micro}`, micro],
  ] as const) {
    const out = resolveParams({
      profile: 'teaching',
      sculpturesDir: values.sculptures,
      outDir: path.join(values.out, name),
    });
    const config = study1.studyConfig(from, {
      microBatch,
      pretrain: { epochs: pe },
      finetune: { epochs: fe },
    });
    const sources = study1.sculptureSources(from, config);
    const t0 = Date.now();
    const pre = await study1.pretrainStep(out, config, sources, { log: null });
    results[`pretrain ${name}`] = pre.history;
    const model = study1.buildStudyModel(config, sources.manifest.classNames.length, from.seed);
    const ft = await finetune({
      model,
      fromCheckpoint: stepDir(from, 'pretrain'),
      blocks,
      trainSource: sources.train,
      valSource: sources.val,
      outDir: path.join(stepDir(out, 'sweep'), `block${blocks}`),
      seed: from.seed,
      stage: config.finetune,
      microBatch,
      log: null,
    });
    model.dispose();
    results[`block${blocks} ${name}`] = ft.history;
    console.log(`${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  for (const [k, h] of Object.entries(results)) show(k, h);
  console.log(
    `pretrain (${pe} epochs, BN frozen), whole vs micro-batches of ${micro}: ${diff(results['pretrain whole']!, results[`pretrain micro${micro}`]!)}`,
  );
  console.log(
    `block${blocks} (${fe} epochs from the teaching pretraining, ghost BN), whole vs micro-batches of ${micro}: ${diff(results[`block${blocks} whole`]!, results[`block${blocks} micro${micro}`]!)}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
